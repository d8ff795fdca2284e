import { randomBytes } from 'node:crypto';

export const ADMIN_DATABASE_URL =
  process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database name and Redis prefix per test run, so runs never share state. */
export function newRunIdentity(): { database: string; redisPrefix: string } {
  const tag = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return { database: `instatunnel_test_${tag}`, redisPrefix: `it-test-${tag}:` };
}

export function databaseUrlFor(database: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Like DDH's jestGlobalSetup: refuse to touch a database whose name does not say test. */
export function assertTestDatabase(databaseUrl: string): void {
  const name = new URL(databaseUrl).pathname.slice(1);
  if (!/test/i.test(name)) throw new Error(`refusing to run tests against database "${name}"`);
}
