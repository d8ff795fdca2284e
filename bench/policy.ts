/**
 * Policy engine cost per request (not a test): a 20-rule policy without rate limits against a mix
 * of requests, beside an empty policy as the baseline, in the same run (median of 200 batches of
 * 1,000 evaluations); then ingress req/s through the built server and real agents for a tunnel whose
 * org has that policy plus a rate-limit rule, against a tunnel whose org has none, in the same run.
 *   npm run build && npm run bench:policy
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { join } from 'node:path';
import {
  compilePolicy,
  evaluate,
  type CompiledPolicy,
  type RequestFacts,
} from '../libs/policy-engine/src';
import { freePort, runNode, seedDemo, spawnNode, waitForHttp } from '../test/helpers/processes';
import { scratchDatabase } from './scratch-db';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);

const rules = [
  ...Array.from({ length: 16 }, (_, i) => ({
    name: `deny-${i}`,
    match: {
      paths: [`/blocked-${i}/**`],
      methods: ['POST', 'PUT'],
      cidrs: [`10.${i}.0.0/16`, `2001:db8:${i}::/48`],
    },
    actions: [{ type: 'deny', status: 403 }],
  })),
  {
    name: 'hdr',
    match: { headers: [{ name: 'user-agent', regex: '^(curl|wget)/' }] },
    actions: [{ type: 'add-headers', request: { 'x-cli': '1' } }],
  },
  {
    name: 'q',
    match: { query: [{ name: 'debug', equals: '1' }] },
    actions: [{ type: 'remove-headers', request: ['cookie'] }],
  },
  {
    name: 'host',
    match: { hosts: ['*.internal.test'] },
    actions: [{ type: 'custom-response', status: 503 }],
  },
  { name: 'tag', actions: [{ type: 'add-headers', response: { 'x-policy': 'v1' } }] },
];

function policyOf(doc: unknown): CompiledPolicy {
  const r = compilePolicy(doc);
  if (!r.policy) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const requests: RequestFacts[] = Array.from({ length: 64 }, (_, i) => ({
  method: i % 3 === 0 ? 'POST' : 'GET',
  path: i % 5 === 0 ? `/blocked-${i % 16}/x` : `/api/items/${i}`,
  query: i % 7 === 0 ? new URLSearchParams('debug=1') : null,
  host: 'app.tunnels.test',
  clientIp: i % 2 ? `203.0.113.${i}` : `2001:db8:ffff::${i}`,
  headers: { 'user-agent': i % 4 ? 'Mozilla/5.0' : 'curl/8.5.0', accept: '*/*' },
  tunnel: 'app',
}));

const deps = {
  rateLimit: async () => ({ allowed: true, limit: 1, remaining: 1, resetSeconds: 1 }),
};

async function medianMicros(policy: CompiledPolicy): Promise<number> {
  const batches: number[] = [];
  for (let b = 0; b < 220; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) await evaluate(policy, requests[i & 63], deps);
    if (b >= 20) batches.push(Number(process.hrtime.bigint() - t) / 1000 / 1000);
  }
  batches.sort((a, b) => a - b);
  return batches[batches.length >> 1];
}

async function ingress(): Promise<{ withPolicy: number; without: number }> {
  const db = await scratchDatabase();
  const [originPort, apiPort, ingressPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: `it-bench-${Date.now().toString(36)}:`,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    INGRESS_PORT: String(ingressPort),
    INGRESS_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PATH: process.env.PATH ?? '',
  };
  const origin = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q, s) => s.end('ok')).listen(${originPort}, '127.0.0.1')`,
    ],
    { stdio: 'inherit' },
  );
  const stops: (() => Promise<void>)[] = [async () => void origin.kill()];
  try {
    await runNode('dist/src/cli.js', ['migrate'], env);
    const seed = (org: string) => seedDemo(env, `${org}@example.com`, 'bench password 123', org);
    const guarded = await seed('guarded');
    const open = await seed('open');
    const server = spawnNode('dist/src/main.js', [], env);
    stops.unshift(() => server.stop());
    const base = `http://127.0.0.1:${apiPort}`;
    await waitForHttp(`${base}/readyz`);
    const withLimit = {
      rules: [
        ...rules,
        {
          name: 'rl',
          actions: [{ type: 'rate-limit', capacity: 1_000_000, window: '1m', key: 'tunnel' }],
        },
      ],
    };
    const created = await fetch(`${base}/v1/orgs/${guarded.orgId}/policies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${guarded.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', document: withLimit }),
    });
    if (created.status !== 201)
      throw new Error(`policy: ${created.status} ${await created.text()}`);
    for (const [key, name] of [
      [guarded.apiKey, 'guarded-app'],
      [open.apiKey, 'open-app'],
    ]) {
      const args = [
        'http',
        String(originPort),
        '--server',
        base,
        '--api-key',
        key,
        '--name',
        name,
        '--log',
        'none',
      ];
      const agent = spawnNode('dist/libs/agent/src/cli.js', args, {});
      stops.unshift(() => agent.stop());
    }
    await waitForHttp(`http://127.0.0.1:${originPort}/`);
    const load = async (host: string) => {
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`http://127.0.0.1:${ingressPort}/`, { headers: { host } }).catch(
          () => null,
        );
        if (r?.status === 200) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const url = `http://127.0.0.1:${ingressPort}/api/items/1`;
      const headers = { host, 'user-agent': 'curl/8.5.0' };
      await autocannon({ url, connections: 10, duration: 2, headers });
      const r = await autocannon({ url, connections: 50, duration: SECONDS, headers });
      if (r.non2xx) throw new Error(`${host}: ${r.non2xx} non-2xx responses`);
      return Math.round(r.requests.average);
    };
    const without = await load('open-app.localhost');
    const withPolicy = await load('guarded-app.localhost');
    return { withPolicy, without };
  } finally {
    for (const stop of stops) await stop();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const empty = await medianMicros(policyOf({ rules: [] }));
  const twenty = await medianMicros(policyOf({ rules }));
  const ing = await ingress();
  const rows: Record<string, unknown>[] = [
    { measure: 'engine, empty policy (baseline)', value: `${empty.toFixed(2)} µs/request` },
    {
      measure: 'engine, 20 rules, no rate limit',
      value: `${twenty.toFixed(2)} µs/request`,
      target: '<= 5 µs',
    },
    { measure: 'ingress req/s @50, no policy', value: ing.without },
    {
      measure: 'ingress req/s @50, 20 rules + rate limit',
      value: ing.withPolicy,
      ratio: (ing.withPolicy / ing.without).toFixed(2),
      target: '>= 0.8x',
    },
  ];
  console.table(rows);
  writeFileSync(
    join(__dirname, 'results/policy.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n',
  );
  process.exit(0);
}

void main();
