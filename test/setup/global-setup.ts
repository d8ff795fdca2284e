import { Client } from 'pg';
import { runMigrations } from '../../src/database/database-options';
import { ADMIN_DATABASE_URL, assertTestDatabase, databaseUrlFor, newRunIdentity } from './test-env';

export default async function globalSetup(): Promise<void> {
  const { database, redisPrefix } = newRunIdentity();
  const databaseUrl = databaseUrlFor(database);
  assertTestDatabase(databaseUrl);
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  await runMigrations(databaseUrl);
  // Workers are spawned after this and inherit the environment.
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
  process.env.REDIS_PREFIX = redisPrefix;
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL ??= 'silent';
  process.env.COOKIE_SECURE = 'false';
  process.env.PUBLIC_URL = 'http://app.instatunnel.test';
  // In-process apps each get their own ephemeral ingress port: suites run in parallel.
  process.env.INGRESS_PORT = '0';
  process.env.INGRESS_HOST = '127.0.0.1';
  process.env.INSTATUNNEL_TEST_DATABASE = database;
}
