/**
 * Cost of authentication on the API: requests/s and latency for an unauthenticated route
 * (baseline), /v1/me with an API key, /v1/me with a session cookie, and an org route (membership,
 * role and the org's SSO requirement resolved per request), against the built server
 * process, real PostgreSQL and Redis. Prints a table and writes bench/results/api-auth.json.
 *   npm run build && npm run bench:api
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { scratchDatabase } from './scratch-db';
import { freePort, runNode, seedDemo, waitForHttp } from '../test/helpers/processes';

const ROOT = join(__dirname, '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);

async function load(url: string, headers: Record<string, string>, connections: number) {
  const r = await autocannon({ url, headers, connections, duration: DURATION, pipelining: 1 });
  return {
    rps: Math.round(r.requests.average),
    meanMs: r.latency.average,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
  };
}

async function main(): Promise<void> {
  const db = await scratchDatabase();
  const port = await freePort();
  const ingressPort = await freePort();
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: `it-bench-${randomBytes(3).toString('hex')}:`,
    PORT: String(port),
    INGRESS_PORT: String(ingressPort),
    INGRESS_HOST: '127.0.0.1',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    COOKIE_SECURE: 'false',
  };
  const server = spawn(process.execPath, [join(ROOT, 'dist/src/main.js')], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
  try {
    await runNode('dist/src/cli.js', ['migrate'], { ...process.env, ...env });
    const { apiKey, orgId } = await seedDemo(
      { ...process.env, ...env },
      'bench@example.com',
      'bench password 123',
      'bench',
    );
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/readyz`);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password: 'bench password 123' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];

    const rows: Record<string, unknown>[] = [];
    for (const [name, path, headers] of [
      ['GET /healthz (no auth, baseline)', '/healthz', {}],
      ['GET /v1/me with API key', '/v1/me', { authorization: `Bearer ${apiKey}` }],
      ['GET /v1/me with session cookie', '/v1/me', { cookie }],
      ['GET /v1/orgs/:id with session (org access check)', `/v1/orgs/${orgId}`, { cookie }],
    ] as [string, string, Record<string, string>][]) {
      const c50 = await load(base + path, headers, 50);
      const c1 = await load(base + path, headers, 1);
      rows.push({
        route: name,
        'req/s @50': c50.rps,
        'p99 ms @50': c50.p99Ms,
        'mean ms @1': Number(c1.meanMs.toFixed(2)),
        non2xx: c50.non2xx + c1.non2xx,
      });
    }
    const baseline = rows[0]['req/s @50'] as number;
    for (const r of rows)
      r['vs baseline'] = `${((r['req/s @50'] as number) / baseline).toFixed(2)}x`;
    console.table(rows);
    writeFileSync(
      join(ROOT, 'bench/results/api-auth.json'),
      JSON.stringify(
        { date: new Date().toISOString(), node: process.version, durationSeconds: DURATION, rows },
        null,
        2,
      ) + '\n',
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
