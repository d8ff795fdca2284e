import Redis from 'ioredis';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL, assertTestDatabase, databaseUrlFor } from './test-env';

export default async function globalTeardown(): Promise<void> {
  const database = process.env.INSTATUNNEL_TEST_DATABASE;
  if (database && !process.env.KEEP_TEST_DATABASE) {
    assertTestDatabase(databaseUrlFor(database));
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
  const prefix = process.env.REDIS_PREFIX;
  if (prefix?.startsWith('it-test-')) {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}
