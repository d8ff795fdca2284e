/**
 * Policy engine cost per request (not a test): a 20-rule policy without rate limits against a mix
 * of requests, beside an empty policy as the baseline, in the same run. Median of 200 batches of
 * 1,000 evaluations. The ingress integration (req/s with a policy vs none) comes with enforcement.
 *   npm run bench:policy
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compilePolicy,
  evaluate,
  type CompiledPolicy,
  type RequestFacts,
} from '../libs/policy-engine/src';

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

async function main(): Promise<void> {
  const empty = await medianMicros(policyOf({ rules: [] }));
  const twenty = await medianMicros(policyOf({ rules }));
  const rows = [
    { policy: 'empty (baseline)', 'median µs/request': Number(empty.toFixed(2)) },
    {
      policy: '20 rules, no rate limit',
      'median µs/request': Number(twenty.toFixed(2)),
      target: '<= 5 µs',
    },
  ];
  console.table(rows);
  writeFileSync(
    join(__dirname, 'results/policy.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2) + '\n',
  );
}

void main();
