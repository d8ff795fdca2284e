import { createHash, randomBytes } from 'node:crypto';
import {
  AgentProcess,
  Origin,
  ServerProcess,
  startAgent,
  startOrigin,
  viaTunnel,
} from '../helpers/tunnel-stack';

const SALT = 'pepper';
const policy = (withBlock: boolean) => ({
  rules: [
    ...(withBlock
      ? [
          {
            name: 'block-net',
            match: { cidrs: ['192.0.2.0/24'] },
            actions: [{ type: 'deny', status: 403, body: 'blocked' }],
          },
        ]
      : []),
    {
      name: 'private',
      match: { paths: ['/private/**'] },
      actions: [
        {
          type: 'basic-auth',
          realm: 'staging',
          credentials: [
            {
              username: 'ann',
              salt: SALT,
              sha256: createHash('sha256').update(SALT).update('s3cret').digest('hex'),
            },
          ],
        },
      ],
    },
    {
      name: 'github',
      match: { paths: ['/hooks/github'] },
      actions: [
        { type: 'verify-webhook', provider: 'github', secret: "It's a Secret to Everybody" },
      ],
    },
    {
      name: 'limited',
      match: { paths: ['/limited'] },
      actions: [{ type: 'rate-limit', capacity: 3, window: '1m', key: 'ip' }],
    },
    {
      name: 'tag',
      actions: [
        {
          type: 'add-headers',
          request: { 'x-policy': 'v1' },
          response: { 'x-served-by': 'instatunnel' },
        },
      ],
    },
  ],
});

/** Policies enforced by the real ingress (two nodes, one Redis) in front of the real agent. */
describe('traffic policies in the ingress', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let origin: Origin;
  let agent: AgentProcess;
  let apiKey: string;
  let orgId: string;
  let policyId: string;
  const prefix = `${process.env.REDIS_PREFIX}pe-${randomBytes(3).toString('hex')}:`;
  const env = { NODE_SECRET: randomBytes(24).toString('hex'), AGENT_PING_INTERVAL_MS: '1000' };

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${a.base}/v1/orgs/${orgId}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  beforeAll(async () => {
    [a, b] = await Promise.all([
      ServerProcess.start(env, { redisPrefix: prefix }),
      ServerProcess.start(env, { redisPrefix: prefix }),
    ]);
    ({ apiKey, orgId } = await a.seed());
    origin = await startOrigin((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.end(
          JSON.stringify({
            policy: req.headers['x-policy'] ?? null,
            authorization: req.headers.authorization ?? null,
            body: body.toString('base64'),
          }),
        );
      });
    });
    const created = await api('/policies', {
      method: 'POST',
      body: JSON.stringify({ name: 'default', document: policy(true) }),
    });
    expect(created.status).toBe(201);
    policyId = ((await created.json()) as { id: string }).id;
    agent = await startAgent(a, apiKey, String(origin.port));
  });

  afterAll(async () => {
    await agent?.stop();
    await origin?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('denies by CIDR using the client address from a trusted proxy, and edits headers both ways otherwise', async () => {
    const blocked = await viaTunnel(a, agent.name, { headers: { 'x-forwarded-for': '192.0.2.9' } });
    expect([blocked.status, blocked.body.toString()]).toEqual([403, 'blocked']);
    const ok = await viaTunnel(a, agent.name, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString()).policy).toBe('v1');
    expect(ok.headers['x-served-by']).toBe('instatunnel');
  });

  it('asks for basic auth and strips the credentials before they reach the app', async () => {
    const none = await viaTunnel(a, agent.name, { path: '/private/x' });
    expect([none.status, none.headers['www-authenticate']]).toEqual([
      401,
      'Basic realm="staging", charset="UTF-8"',
    ]);
    const wrong = await viaTunnel(a, agent.name, {
      path: '/private/x',
      headers: { authorization: `Basic ${Buffer.from('ann:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    const ok = await viaTunnel(a, agent.name, {
      path: '/private/x',
      headers: { authorization: `Basic ${Buffer.from('ann:s3cret').toString('base64')}` },
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString()).authorization).toBeNull();
  });

  it('verifies a GitHub webhook and forwards its body byte for byte; a tampered one is refused', async () => {
    const sig = {
      'x-hub-signature-256':
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    };
    const ok = await viaTunnel(a, agent.name, {
      method: 'POST',
      path: '/hooks/github',
      headers: sig,
      body: 'Hello, World!',
    });
    expect(ok.status).toBe(200);
    expect(Buffer.from(JSON.parse(ok.body.toString()).body, 'base64').toString()).toBe(
      'Hello, World!',
    );
    const tampered = await viaTunnel(a, agent.name, {
      method: 'POST',
      path: '/hooks/github',
      headers: sig,
      body: 'Hello, World?',
    });
    expect(tampered.status).toBe(401);
    const huge = await viaTunnel(a, agent.name, {
      method: 'POST',
      path: '/hooks/github',
      headers: sig,
      body: Buffer.alloc(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
  });

  it('rate-limits across both nodes and counts forwarded requests once', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.77' };
    const statuses: number[] = [];
    for (const node of [a, b, a])
      statuses.push((await viaTunnel(node, agent.name, { path: '/limited', headers: ip })).status);
    expect(statuses).toEqual([200, 200, 200]);
    const limited = await viaTunnel(b, agent.name, { path: '/limited', headers: ip });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-limit']).toBe('3');
    expect(
      (
        await viaTunnel(b, agent.name, {
          path: '/limited',
          headers: { 'x-forwarded-for': '198.51.100.78' },
        })
      ).status,
    ).toBe(200);
  });

  it('records block events, aggregated, and serves them with filters and keyset pagination', async () => {
    for (let i = 0; i < 5; i++)
      await viaTunnel(a, agent.name, { headers: { 'x-forwarded-for': '192.0.2.10' } });
    let page: {
      items: { rule: string; count: number; clientIp: string; action: string }[];
      nextCursor: string | null;
    } = { items: [], nextCursor: null };
    for (let i = 0; i < 50; i++) {
      page = (await (
        await api('/policy-events?rule=block-net&clientIp=192.0.2.10')
      ).json()) as typeof page;
      if (page.items[0]?.count === 5) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(page.items).toEqual([
      expect.objectContaining({
        rule: 'block-net',
        action: 'deny',
        clientIp: '192.0.2.10',
        count: 5,
      }),
    ]);
    const all = (await (await api('/policy-events?limit=1')).json()) as typeof page;
    expect(all.items).toHaveLength(1);
    expect(all.nextCursor).not.toBeNull();
    const next = (await (
      await api(`/policy-events?limit=50&cursor=${all.nextCursor}`)
    ).json()) as typeof page;
    expect(next.items.map((e) => e.action)).toEqual(expect.arrayContaining(['rate-limit']));
    expect((await api('/policy-events?cursor=abc')).status).toBe(400);
  });

  it('runs a reserved name’s own policy after the org’s, on that name only', async () => {
    const name = `res-${randomBytes(3).toString('hex')}`;
    const reserved = await api('/reserved-names', {
      method: 'POST',
      body: JSON.stringify({ name }),
    });
    const { id } = (await reserved.json()) as { id: string };
    const pol = await api('/policies', {
      method: 'POST',
      body: JSON.stringify({
        name: 'named',
        reservedNameId: id,
        document: {
          rules: [
            {
              name: 'closed',
              match: { paths: ['/only-here'] },
              actions: [{ type: 'deny', status: 451 }],
            },
          ],
        },
      }),
    });
    expect(pol.status).toBe(201);
    const named = await startAgent(a, apiKey, String(origin.port), ['--name', name]);
    try {
      expect((await viaTunnel(a, name, { path: '/only-here' })).status).toBe(451);
      expect((await viaTunnel(a, agent.name, { path: '/only-here' })).status).toBe(200);
      // The org default still runs first on the reserved name.
      expect(
        (
          await viaTunnel(a, name, {
            path: '/only-here',
            headers: { 'x-forwarded-for': '192.0.2.1' },
          })
        ).status,
      ).toBe(403);
    } finally {
      await named.stop();
    }
  });

  it('applies a policy change on every node without a restart', async () => {
    const res = await api(`/policies/${policyId}`, {
      method: 'PUT',
      body: JSON.stringify({ document: policy(false) }),
    });
    expect(res.status).toBe(200);
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await viaTunnel(b, agent.name, { headers: { 'x-forwarded-for': '192.0.2.9' } }))
        .status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });
});
