import { createHash } from 'node:crypto';
import { compilePolicy, evaluate, globToRegExp, parseCidr, parseIp, inCidr } from './index';
import type { CompiledPolicy } from './compile';
import type { EngineDeps, RequestFacts } from './types';

function compile(doc: unknown): CompiledPolicy {
  const r = compilePolicy(doc);
  if (!r.policy) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  method: 'GET',
  path: '/',
  query: null,
  host: 'app.tunnels.test',
  clientIp: '203.0.113.10',
  headers: {},
  tunnel: 'app',
  ...over,
});

/** A limiter that counts in memory: the engine is tested without Redis or a clock. */
function memoryLimiter(): EngineDeps & { calls: string[] } {
  const counts = new Map<string, number>();
  const calls: string[] = [];
  return {
    calls,
    async rateLimit(key, capacity) {
      calls.push(key);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      return {
        allowed: n <= capacity,
        limit: capacity,
        remaining: Math.max(0, capacity - n),
        resetSeconds: 7,
      };
    },
  };
}

describe('addresses', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['::ffff:10.1.2.3', '10.0.0.0/8', true],
    ['::ffff:a01:203', '10.0.0.0/8', true],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['fe80::1%eth0', 'fe80::/10', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['0.0.0.0', '0.0.0.0/0', true],
    ['2001:db8::1', '0.0.0.0/0', false],
    ['::1', '::/0', true],
  ])('%s in %s → %s', (ip, cidr, want) => {
    expect(inCidr(parseIp(ip)!, parseCidr(cidr)!)).toBe(want);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', '2001:db8::/129', 'x', '1.2.3.4/8/1', '10.0.0.0/-1', ''])(
    'refuses %j',
    (c) => expect(parseCidr(c)).toBeNull(),
  );
});

describe('path globs', () => {
  it.each([
    ['/api/*', '/api/users', true],
    ['/api/*', '/api/users/1', false],
    ['/api/**', '/api/users/1', true],
    ['/file-?.txt', '/file-a.txt', true],
    ['/a.b', '/axb', false],
    ['/(x)', '/(x)', true],
  ])('%s vs %s → %s', (glob, path, want) => expect(globToRegExp(glob).test(path)).toBe(want));
});

describe('compilePolicy refuses bad documents with every error and its JSON path', () => {
  it.each([
    [null, '$'],
    [[], '$'],
    [{}, '$.rules'],
    [{ rules: {} }, '$.rules'],
    [{ rules: [], extra: 1 }, '$.extra'],
    [{ rules: [{ name: 'a', actions: [{ type: 'explode' }] }] }, '$.rules[0].actions[0].type'],
    [{ rules: [{ name: 'a', actions: [] }] }, '$.rules[0].actions'],
    [
      { rules: [{ name: 'a', match: { cidrs: ['10.0.0.0/99'] }, actions: [{ type: 'allow' }] }] },
      '$.rules[0].match.cidrs[0]',
    ],
    [
      {
        rules: [
          {
            name: 'a',
            match: { headers: [{ name: 'x', regex: '([' }] },
            actions: [{ type: 'allow' }],
          },
        ],
      },
      '$.rules[0].match.headers[0].regex',
    ],
    [
      {
        rules: [
          {
            name: 'a',
            match: { headers: [{ name: 'x', regex: '(a+)+$' }] },
            actions: [{ type: 'allow' }],
          },
        ],
      },
      '$.rules[0].match.headers[0].regex',
    ],
    [
      {
        rules: [
          {
            name: 'a',
            match: { headers: [{ name: 'x', regex: 'a'.repeat(300) }] },
            actions: [{ type: 'allow' }],
          },
        ],
      },
      '$.rules[0].match.headers[0].regex',
    ],
    [
      { rules: [{ name: 'a', match: { methods: ['FETCH'] }, actions: [{ type: 'allow' }] }] },
      '$.rules[0].match.methods[0]',
    ],
    [
      { rules: [{ name: 'a', match: { paths: ['no-slash'] }, actions: [{ type: 'allow' }] }] },
      '$.rules[0].match.paths[0]',
    ],
    [
      { rules: [{ name: 'a', match: { nope: 1 }, actions: [{ type: 'allow' }] }] },
      '$.rules[0].match.nope',
    ],
    [
      { rules: [{ name: 'a', actions: [{ type: 'deny', status: 200 }] }] },
      '$.rules[0].actions[0].status',
    ],
    [
      {
        rules: [
          { name: 'a', actions: [{ type: 'rate-limit', capacity: 0, window: '1m', key: 'ip' }] },
        ],
      },
      '$.rules[0].actions[0].capacity',
    ],
    [
      {
        rules: [
          { name: 'a', actions: [{ type: 'rate-limit', capacity: 5, window: 'soon', key: 'ip' }] },
        ],
      },
      '$.rules[0].actions[0].window',
    ],
    [
      {
        rules: [
          {
            name: 'a',
            actions: [{ type: 'rate-limit', capacity: 5, window: '1m', key: 'cookie' }],
          },
        ],
      },
      '$.rules[0].actions[0].key',
    ],
    [
      { rules: [{ name: 'a', actions: [{ type: 'redirect', to: 'javascript:alert(1)' }] }] },
      '$.rules[0].actions[0].to',
    ],
    [
      {
        rules: [
          { name: 'a', actions: [{ type: 'add-headers', request: { 'x-a': 'line\r\nbreak' } }] },
        ],
      },
      '$.rules[0].actions[0].request.x-a',
    ],
    [
      {
        rules: [
          {
            name: 'a',
            actions: [
              { type: 'basic-auth', credentials: [{ username: 'u', salt: 's', sha256: 'nothex' }] },
            ],
          },
        ],
      },
      '$.rules[0].actions[0].credentials[0].sha256',
    ],
    [
      {
        rules: [
          { name: 'a', actions: [{ type: 'allow' }] },
          { name: 'a', actions: [{ type: 'allow' }] },
        ],
      },
      '$.rules[1].name',
    ],
    [
      {
        rules: Array.from({ length: 201 }, (_, i) => ({
          name: `r${i}`,
          actions: [{ type: 'allow' }],
        })),
      },
      '$.rules',
    ],
  ])('%# → %s', (doc, path) => {
    const r = compilePolicy(doc);
    expect(r.policy).toBeNull();
    expect(r.errors.map((e) => e.path)).toContain(path);
  });

  it('lists several errors at once', () => {
    const r = compilePolicy({
      rules: [
        {
          name: 'a',
          match: { cidrs: ['x'], methods: ['NOPE'] },
          actions: [{ type: 'deny', status: 99 }],
        },
      ],
    });
    expect(r.errors.map((e) => e.path)).toEqual([
      '$.rules[0].match.methods[0]',
      '$.rules[0].match.cidrs[0]',
      '$.rules[0].actions[0].status',
    ]);
  });
});

describe('evaluate', () => {
  const deps = memoryLimiter();

  it('forwards everything when no rule matches, and an empty match matches every request', async () => {
    expect(
      (
        await evaluate(
          compile({
            rules: [
              { name: 'post only', match: { methods: ['POST'] }, actions: [{ type: 'deny' }] },
            ],
          }),
          facts(),
          deps,
        )
      ).outcome,
    ).toBe('forward');
    const all = await evaluate(
      compile({ rules: [{ name: 'all', actions: [{ type: 'deny', status: 451, body: 'no' }] }] }),
      facts(),
      deps,
    );
    expect(all).toMatchObject({
      outcome: 'respond',
      status: 451,
      body: 'no',
      blockedBy: { rule: 'all', action: 'deny' },
    });
  });

  const policy = compile({
    rules: [
      {
        name: 'office',
        match: { cidrs: ['198.51.100.0/24', '2001:db8::/32'] },
        actions: [{ type: 'allow' }],
      },
      {
        name: 'no-admin',
        match: { paths: ['/admin/**'] },
        actions: [{ type: 'deny', status: 404 }],
      },
      {
        name: 'api-host',
        match: { hosts: ['*.internal.test'] },
        actions: [
          {
            type: 'custom-response',
            status: 503,
            body: 'maintenance',
            headers: { 'retry-after': '60' },
          },
        ],
      },
      {
        name: 'needs-key',
        match: { methods: ['POST'], headers: [{ name: 'X-Api-Key', present: false }] },
        actions: [{ type: 'deny', status: 401 }],
      },
      {
        name: 'beta',
        match: { query: [{ name: 'beta', equals: '1' }] },
        actions: [{ type: 'redirect', to: '/beta', status: 307 }],
      },
      {
        name: 'ua',
        match: { headers: [{ name: 'user-agent', regex: '^curl/' }] },
        actions: [{ type: 'add-headers', request: { 'x-client': 'curl' } }],
      },
      {
        name: 'strip',
        actions: [{ type: 'remove-headers', request: ['x-secret'], response: ['server'] }],
      },
    ],
  });

  it.each<[string, Partial<RequestFacts>, Record<string, unknown>]>([
    [
      'office IPv4 skips every other rule',
      { clientIp: '198.51.100.7', path: '/admin/x' },
      { outcome: 'forward', matchedRules: ['office'] },
    ],
    [
      'office IPv4-mapped IPv6 is the same address',
      { clientIp: '::ffff:198.51.100.7', path: '/admin/x' },
      { outcome: 'forward', matchedRules: ['office'] },
    ],
    ['office IPv6', { clientIp: '2001:db8::5', path: '/admin' }, { outcome: 'forward' }],
    [
      'admin path denied',
      { path: '/admin/users' },
      {
        outcome: 'respond',
        status: 404,
        blockedBy: { rule: 'no-admin', action: 'deny', reason: 'denied' },
      },
    ],
    [
      'wildcard host',
      { host: 'x.internal.test' },
      { outcome: 'respond', status: 503, body: 'maintenance', headers: { 'retry-after': '60' } },
    ],
    ['POST without key', { method: 'POST' }, { outcome: 'respond', status: 401 }],
    ['POST with key', { method: 'POST', headers: { 'x-api-key': 'k' } }, { outcome: 'forward' }],
    [
      'query param redirect',
      { query: new URLSearchParams('beta=1') },
      { outcome: 'respond', status: 307, headers: { location: '/beta' } },
    ],
    ['query param other value', { query: new URLSearchParams('beta=2') }, { outcome: 'forward' }],
    [
      'regex header adds a header, later rule removes others',
      { headers: { 'user-agent': 'curl/8.0' } },
      {
        outcome: 'forward',
        matchedRules: ['ua', 'strip'],
        requestHeaders: { set: { 'x-client': 'curl' }, remove: ['x-secret'] },
        responseHeaders: { set: {}, remove: ['server'] },
      },
    ],
  ])('%s', async (_name, f, want) => {
    expect(await evaluate(policy, facts(f), deps)).toMatchObject(want);
  });

  it('restricts by address lists, denying unparseable addresses', async () => {
    const p = compile({
      rules: [
        {
          name: 'ips',
          actions: [{ type: 'restrict-ips', allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] }],
        },
      ],
    });
    expect((await evaluate(p, facts({ clientIp: '10.1.1.1' }), deps)).outcome).toBe('forward');
    expect((await evaluate(p, facts({ clientIp: '10.9.1.1' }), deps)).status).toBe(403);
    expect((await evaluate(p, facts({ clientIp: '192.0.2.1' }), deps)).status).toBe(403);
    expect((await evaluate(p, facts({ clientIp: 'garbage' }), deps)).status).toBe(403);
  });

  it('rate-limits per key through the injected limiter, with Retry-After and RateLimit-* headers', async () => {
    const limiter = memoryLimiter();
    const p = compile({
      rules: [
        {
          name: 'rl',
          actions: [{ type: 'rate-limit', capacity: 2, window: '1m', key: 'header:x-user' }],
        },
      ],
    });
    const one = (user: string) => evaluate(p, facts({ headers: { 'x-user': user } }), limiter);
    expect((await one('a')).outcome).toBe('forward');
    expect((await one('a')).outcome).toBe('forward');
    const third = await one('a');
    expect(third).toMatchObject({
      outcome: 'respond',
      status: 429,
      headers: { 'retry-after': '7', 'ratelimit-limit': '2', 'ratelimit-remaining': '0' },
      blockedBy: { action: 'rate-limit' },
    });
    expect((await one('b')).outcome).toBe('forward');
    expect(limiter.calls).toEqual(['rl\u0000a', 'rl\u0000a', 'rl\u0000a', 'rl\u0000b']);
  });

  it('checks basic auth against salted SHA-256 credentials and strips the header before forwarding', async () => {
    const salt = 'pepper';
    const p = compile({
      rules: [
        {
          name: 'ba',
          actions: [
            {
              type: 'basic-auth',
              realm: 'staging',
              credentials: [
                {
                  username: 'ann',
                  salt,
                  sha256: createHash('sha256').update(salt).update('s3cret').digest('hex'),
                },
              ],
            },
          ],
        },
      ],
    });
    const basic = (u: string, pw: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}`,
    });
    const ok = await evaluate(p, facts({ headers: basic('ann', 's3cret') }), deps);
    expect(ok).toMatchObject({ outcome: 'forward', requestHeaders: { remove: ['authorization'] } });
    for (const headers of [
      basic('ann', 'wrong'),
      basic('bob', 's3cret'),
      { authorization: 'Bearer x' },
      { authorization: 'Basic !!!' },
      {},
    ]) {
      const r = await evaluate(p, facts({ headers }), deps);
      expect(r).toMatchObject({
        outcome: 'respond',
        status: 401,
        headers: { 'www-authenticate': 'Basic realm="staging", charset="UTF-8"' },
        blockedBy: { reason: 'basic auth failed' },
      });
    }
  });

  it('verifies webhooks with the injected clock and refuses a tampered body (the body itself is not changed)', async () => {
    const p = compile({
      rules: [
        {
          name: 'gh',
          match: { paths: ['/hooks/github'] },
          actions: [
            { type: 'verify-webhook', provider: 'github', secret: "It's a Secret to Everybody" },
          ],
        },
      ],
    });
    const body = Buffer.from('Hello, World!');
    const headers = {
      'x-hub-signature-256':
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    };
    const ok = await evaluate(p, facts({ path: '/hooks/github', headers, body }), {
      ...deps,
      now: () => 0,
    });
    expect(ok.outcome).toBe('forward');
    expect(body.toString()).toBe('Hello, World!');
    const bad = await evaluate(
      p,
      facts({ path: '/hooks/github', headers, body: Buffer.from('Hello, World?') }),
      deps,
    );
    expect(bad).toMatchObject({
      outcome: 'respond',
      status: 401,
      blockedBy: { action: 'verify-webhook', reason: 'webhook bad-signature' },
    });
    const unbuffered = await evaluate(p, facts({ path: '/hooks/github', headers }), deps);
    expect(unbuffered.blockedBy?.reason).toBe('webhook body not available');
    expect(
      compilePolicy({
        rules: [
          { name: 'x', actions: [{ type: 'verify-webhook', provider: 'paypal', secret: 'short' }] },
        ],
      }).errors.map((e) => e.path),
    ).toEqual(['$.rules[0].actions[0].provider', '$.rules[0].actions[0].secret']);
  });

  it('stops at the first terminating action; earlier rules’ header edits are kept', async () => {
    const p = compile({
      rules: [
        { name: 'tag', actions: [{ type: 'add-headers', request: { 'x-a': '1' } }] },
        {
          name: 'stop',
          actions: [
            { type: 'deny', status: 403 },
            { type: 'add-headers', request: { 'x-b': '2' } },
          ],
        },
        { name: 'never', actions: [{ type: 'add-headers', request: { 'x-c': '3' } }] },
      ],
    });
    const r = await evaluate(p, facts(), deps);
    expect(r.actionsRun).toEqual(['tag:add-headers', 'stop:deny']);
    expect(r.requestHeaders.set).toEqual({ 'x-a': '1' });
  });
});
