import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import WebSocket, { WebSocketServer } from 'ws';
import { Client } from 'pg';
import { spawnNode } from '../helpers/processes';
import {
  Origin,
  ServerProcess,
  Seeded,
  startAgent,
  startOrigin,
  viaTunnel,
  waitForOutput,
  AgentProcess,
} from '../helpers/tunnel-stack';

/** Real processes: the built server (API + ingress), the `instatunnel` CLI, a local origin, Postgres, Redis. */
describe('tunnels through the real agent', () => {
  let server: ServerProcess;
  let acme: Seeded;
  let origin: Origin;
  let agent: AgentProcess;
  const agents: AgentProcess[] = [];
  const origins: Origin[] = [];

  const echo: Parameters<typeof startOrigin>[0] = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.setHeader('content-type', 'application/json');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          sha256: createHash('sha256').update(body).digest('hex'),
          length: body.length,
        }),
      );
    });
  };

  async function agentFor(key: string, target: string, args: string[] = []) {
    const a = await startAgent(server, key, target, args);
    agents.push(a);
    return a;
  }

  async function newOrigin(handler: Parameters<typeof startOrigin>[0]) {
    const o = await startOrigin(handler);
    origins.push(o);
    return o;
  }

  beforeAll(async () => {
    server = await ServerProcess.start({ AGENT_PING_INTERVAL_MS: '1000' });
    acme = await server.seed();
    origin = await newOrigin(echo);
    agent = await agentFor(acme.apiKey, String(origin.port));
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(origins.map((o) => o.close()));
    await server?.stop();
  });

  it('prints the public URL on a line of its own and serves GET with query strings and unicode paths', async () => {
    expect(agent.url).toBe(`http://${agent.name}.localhost:${server.ingressPort}`);
    expect(agent.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);
    const path = '/h%C3%A9llo/%E2%9C%93?q=a%20b&x=1&x=2';
    const res = await viaTunnel(server, agent.name, { path, headers: { 'x-custom': 'yes' } });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.url).toBe(path);
    expect(body.headers['x-custom']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])(
    'passes %s with a binary body byte for byte',
    async (method) => {
      const payload = randomBytes(3 * 1024 * 1024 + 7);
      const res = await viaTunnel(server, agent.name, {
        method,
        path: '/upload',
        body: payload,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const body = JSON.parse(res.body.toString());
      expect(body).toMatchObject({
        method,
        length: payload.length,
        sha256: createHash('sha256').update(payload).digest('hex'),
      });
    },
  );

  it('honours Expect: 100-continue: the client gets 100 before sending the body, the body arrives intact', async () => {
    const payload = randomBytes(256 * 1024);
    const result = await new Promise<{
      sawContinue: boolean;
      body: { length: number; sha256: string };
    }>((resolve, reject) => {
      let sawContinue = false;
      const req = http.request({
        host: '127.0.0.1',
        port: server.ingressPort,
        method: 'POST',
        path: '/expect',
        agent: false,
        headers: {
          host: `${agent.name}.localhost`,
          expect: '100-continue',
          'content-length': String(payload.length),
        },
      });
      req.on('continue', () => {
        sawContinue = true;
        req.end(payload);
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ sawContinue, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(result.sawContinue).toBe(true);
    expect(result.body).toMatchObject({
      length: payload.length,
      sha256: createHash('sha256').update(payload).digest('hex'),
    });
  });

  it('strips hop-by-hop headers and sets X-Forwarded-*; the origin sees its own Host', async () => {
    const res = await viaTunnel(server, agent.name, {
      headers: {
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': '1',
        'keep-alive': 'timeout=1',
        'proxy-authorization': 'secret',
        te: 'trailers',
      },
    });
    const { headers } = JSON.parse(res.body.toString());
    expect(headers['x-drop-me']).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe(`${agent.name}.localhost:${server.ingressPort}`);
    expect(headers.host).toBe(`127.0.0.1:${origin.port}`);
  });

  it('appends to X-Forwarded-For only when the peer is a trusted proxy (loopback here)', async () => {
    const res = await viaTunnel(server, agent.name, {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    const { headers } = JSON.parse(res.body.toString());
    expect(headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('https');
  });

  it('answers 404 for an unknown host, as HTML for browsers and problem+json otherwise, and never reaches the API', async () => {
    const json = await viaTunnel(server, 'no-such-tunnel');
    expect(json.status).toBe(404);
    expect(JSON.parse(json.body.toString()).type).toBe(
      'https://instatunnel.dev/problems/tunnel-not-found',
    );
    const html = await viaTunnel(server, 'no-such-tunnel', { headers: { accept: 'text/html' } });
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body.toString()).toContain('Tunnel not found');
    for (const path of ['/v1/me', '/admin/users', '/healthz', '/docs']) {
      const r = await viaTunnel(server, 'api', { path });
      expect(r.status).toBe(404);
      const bare = await viaTunnel(server, '', { path });
      expect(bare.status).toBe(404);
    }
  });

  it('keeps compressed bodies untouched, and passes 204, 304 and HEAD without bodies', async () => {
    const gz = gzipSync(Buffer.from('hello '.repeat(1000)));
    const o = await newOrigin((req, res) => {
      if (req.url === '/gz') {
        res.writeHead(200, {
          'content-encoding': 'gzip',
          'content-type': 'text/plain',
          'content-length': gz.length,
        });
        return res.end(gz);
      }
      if (req.url === '/204') return res.writeHead(204).end();
      if (req.url === '/304') return res.writeHead(304, { etag: '"x"' }).end();
      res.writeHead(200, { 'content-length': 5 }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const a = await agentFor(acme.apiKey, String(o.port));
    const zipped = await viaTunnel(server, a.name, {
      path: '/gz',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.equals(gz)).toBe(true);
    expect((await viaTunnel(server, a.name, { path: '/204' })).status).toBe(204);
    const notModified = await viaTunnel(server, a.name, { path: '/304' });
    expect([notModified.status, notModified.headers.etag, notModified.body.length]).toEqual([
      304,
      '"x"',
      0,
    ]);
    const head = await viaTunnel(server, a.name, { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '5', 0]);
    await a.stop();
  });

  it('answers 502 naming the cause when the local app is down, and the tunnel stays up', async () => {
    const o = await newOrigin(echo);
    const port = o.port;
    await o.close();
    const a = await agentFor(acme.apiKey, String(port));
    const res = await viaTunnel(server, a.name, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('nothing is listening on the local port');
    const json = await viaTunnel(server, a.name);
    expect(JSON.parse(json.body.toString())).toMatchObject({
      status: 502,
      title: 'Local app unreachable',
    });
    await waitForOutput(a, /GET\s+\/\s+502/);
    // The app comes up on that port: the same tunnel now serves it.
    const back = await newOrigin(echo);
    await new Promise<void>((r) => back.server.close(() => r()));
    await new Promise<void>((r) => back.server.listen(port, '127.0.0.1', r));
    expect((await viaTunnel(server, a.name)).status).toBe(200);
    await a.stop();
  });

  it('answers 504 when the local app is slower than --origin-timeout', async () => {
    const slow = await newOrigin((_req, res) => setTimeout(() => res.end('late'), 3000));
    const a = await agentFor(acme.apiKey, String(slow.port), ['--origin-timeout', '1']);
    const res = await viaTunnel(server, a.name);
    expect(res.status).toBe(504);
    await a.stop();
  });

  it('streams a slow, chunked response as it is produced', async () => {
    const o = await newOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const t = setInterval(() => {
        res.write(`chunk ${i}\n`);
        if (++i === 5) {
          clearInterval(t);
          res.end();
        }
      }, 100);
    });
    const a = await agentFor(acme.apiKey, String(o.port));
    const res = await viaTunnel(server, a.name);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body.toString()).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    await a.stop();
  });

  it('passes WebSocket upgrades through to the local app (echo)', async () => {
    const o = await newOrigin((_req, res) => res.end('http'));
    const wss = new WebSocketServer({ server: o.server });
    wss.on('connection', (ws, req) =>
      ws.on('message', (m, binary) => ws.send(binary ? m : `echo ${m.toString()} ${req.url}`)),
    );
    const a = await agentFor(acme.apiKey, String(o.port));
    const ws = new WebSocket(`ws://127.0.0.1:${server.ingressPort}/socket?x=1`, {
      headers: { host: `${a.name}.localhost` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((r) => ws.once('message', (m) => r(m.toString())));
    ws.send('hi');
    expect(await reply).toBe('echo hi /socket?x=1');
    const big = randomBytes(512 * 1024);
    const bin = new Promise<Buffer>((r) => ws.once('message', (m) => r(m as Buffer)));
    ws.send(big);
    expect((await bin).equals(big)).toBe(true);
    ws.close();
    wss.close();
    await a.stop();
  });

  it('refuses a bad key and a revoked key before the upgrade; the agent prints the problem and exits 1', async () => {
    const bad = await startAgent(server, 'it_' + 'x'.repeat(50), String(origin.port)).catch(
      (e: Error) => e,
    );
    expect(String(bad)).toMatch(
      /server refused the tunnel: 401 The API key is not valid: The API key checksum does not match/,
    );
  });

  it('refuses a name that another org holds live (409) and one reserved by another org', async () => {
    const other = await server.seed();
    const taken = await startAgent(server, other.apiKey, String(origin.port), [
      '--name',
      agent.name,
    ]).catch((e: Error) => e);
    expect(String(taken)).toMatch(/409 The tunnel name belongs to another org/);

    const cookie = await login(acme.email);
    const reserved = await fetch(`${server.base}/v1/orgs/${acme.orgId}/reserved-names`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `acme-${randomBytes(3).toString('hex')}` }),
    });
    expect(reserved.status).toBe(201);
    const { name } = (await reserved.json()) as { name: string };
    const stolen = await startAgent(server, other.apiKey, String(origin.port), [
      '--name',
      name,
    ]).catch((e: Error) => e);
    expect(String(stolen)).toMatch(/409 .*reserved by another org/);
    const mine = await agentFor(acme.apiKey, String(origin.port), ['--name', name]);
    expect(mine.name).toBe(name);
    await mine.stop();
    for (const bad of ['api', 'www', 'ab', 'has_underscore', 'trailing-', 'x'.repeat(64)]) {
      const r = await startAgent(server, acme.apiKey, String(origin.port), ['--name', bad]).catch(
        (e: Error) => e,
      );
      expect(String(r)).toMatch(/400 The tunnel name is not allowed/);
    }
  });

  it('manages reserved names: list, refuse bad or taken names, release', async () => {
    const cookie = await login(acme.email);
    const url = `${server.base}/v1/orgs/${acme.orgId}/reserved-names`;
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const name = `keep-${randomBytes(3).toString('hex')}`;
    const created = await post({ name: name.toUpperCase() });
    expect(created.status).toBe(201);
    const row = (await created.json()) as { id: string; name: string; url: string };
    expect(row).toMatchObject({ name, url: `http://${name}.localhost:${server.ingressPort}` });
    expect((await post({ name })).status).toBe(409);
    for (const bad of [
      { name: 'api' },
      { name: 'a' },
      { name: 'under_score' },
      { name: 42 },
      {},
      { name: 'ok-name', extra: 1 },
    ]) {
      const r = await post(bad);
      expect([r.status, bad]).toEqual([400, bad]);
    }
    // A name live for another org cannot be reserved.
    const other = await server.seed();
    const live = await agentFor(other.apiKey, String(origin.port));
    expect((await post({ name: live.name })).status).toBe(409);
    await live.stop();
    const list = (await (await fetch(url, { headers: { cookie } })).json()) as { id: string }[];
    expect(list.map((r) => r.id)).toContain(row.id);
    expect(
      (await fetch(`${url}/${row.id}`, { method: 'DELETE', headers: { cookie } })).status,
    ).toBe(204);
    expect(
      (await fetch(`${url}/${row.id}`, { method: 'DELETE', headers: { cookie } })).status,
    ).toBe(404);
    // Another org's member cannot see or delete this org's reservations.
    const theirs = await fetch(url, { headers: { authorization: `Bearer ${other.apiKey}` } });
    expect(theirs.status).toBe(404);
  });

  it('holds a released random name for its org: another org cannot take it right away', async () => {
    const a = await agentFor(acme.apiKey, String(origin.port));
    const released = a.name;
    await a.stop();
    const other = await server.seed();
    const grab = await startAgent(server, other.apiKey, String(origin.port), [
      '--name',
      released,
    ]).catch((e: Error) => e);
    expect(String(grab)).toMatch(/409 The tunnel name belongs to another org/);
    const back = await agentFor(acme.apiKey, String(origin.port), ['--name', released]);
    expect(back.name).toBe(released);
    await back.stop();
  });

  it('pools two agents of one org on one name, round-robin', async () => {
    const o1 = await newOrigin((_q, r) => r.end('one'));
    const o2 = await newOrigin((_q, r) => r.end('two'));
    const name = `pool-${randomBytes(3).toString('hex')}`;
    const a1 = await agentFor(acme.apiKey, String(o1.port), ['--name', name]);
    const a2 = await agentFor(acme.apiKey, String(o2.port), ['--name', name]);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await viaTunnel(server, name)).body.toString());
    expect(seen.filter((s) => s === 'one')).toHaveLength(3);
    expect(seen.filter((s) => s === 'two')).toHaveLength(3);
    await a1.stop();
    expect((await viaTunnel(server, name)).body.toString()).toBe('two');
    await a2.stop();
  });

  it('lists live tunnels and force-closes one; the agent reconnects and gets its name back', async () => {
    const cookie = await login(acme.email);
    const list = (await (
      await fetch(`${server.base}/v1/orgs/${acme.orgId}/tunnels`, { headers: { cookie } })
    ).json()) as { id: string; name: string; url: string }[];
    const mine = list.find((t) => t.name === agent.name)!;
    expect(mine.url).toBe(agent.url);
    const del = await fetch(`${server.base}/v1/orgs/${acme.orgId}/tunnels/${mine.id}`, {
      method: 'DELETE',
      headers: { cookie },
    });
    expect(del.status).toBe(204);
    await waitForOutput(agent, /reconnected: /);
    expect((await viaTunnel(server, agent.name)).status).toBe(200);
    const db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const { rows } = await db.query(
      `SELECT action FROM audit_events WHERE org_id = $1 AND action LIKE 'tunnel.%' ORDER BY id`,
      [acme.orgId],
    );
    await db.end();
    const actions = rows.map((r: { action: string }) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tunnel.opened',
        'tunnel.closed',
        'tunnel.force_closed',
        'tunnel.refused',
      ]),
    );
  });

  it('enforces the per-org quota before the upgrade (429), and the agent keeps retrying', async () => {
    const tight = await ServerProcess.start({ TUNNELS_PER_ORG: '2' });
    const small = await tight.seed();
    const running: AgentProcess[] = [];
    for (let i = 0; i < 2; i++)
      running.push(await startAgent(tight, small.apiKey, String(origin.port)));
    const third = spawnNode(
      'dist/libs/agent/src/cli.js',
      ['http', String(origin.port), '--server', tight.base, '--api-key', small.apiKey],
      {},
    );
    try {
      await waitForOutput(third, /429 The org has reached its tunnel quota/);
      await waitForOutput(third, /reconnecting in/);
      await running[0].stop();
      await waitForOutput(third, /^http:\/\/[a-z0-9-]+\.localhost:\d+$/m, 30000);
    } finally {
      await third.stop();
      await Promise.all(running.map((a) => a.stop()));
      await tight.stop();
    }
  });

  it('ends in-flight requests with 502 when the agent is killed (SIGKILL), without hanging', async () => {
    const hang = await newOrigin(() => undefined);
    const a = await agentFor(acme.apiKey, String(hang.port));
    const pending = viaTunnel(server, a.name);
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGKILL');
    const res = await pending;
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body.toString()).type).toMatch(/agent-disconnected|agent-unavailable/);
    expect((await viaTunnel(server, a.name)).status).toBe(404);
  });

  it('notices a frozen agent (SIGSTOP) through missed pings and fails its requests with 502', async () => {
    const a = await agentFor(acme.apiKey, String(origin.port));
    a.child.kill('SIGSTOP');
    try {
      const res = await viaTunnel(server, a.name);
      expect(res.status).toBe(502);
    } finally {
      a.child.kill('SIGCONT');
      await a.stop();
    }
  });

  it('closes the live tunnels of a revoked key within seconds; the agent is refused on reconnect and exits', async () => {
    const cookie = await login(acme.email);
    const created = await fetch(`${server.base}/v1/api-keys`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'short-lived', orgId: acme.orgId, scopes: ['tunnels:connect'] }),
    });
    const { id, key } = (await created.json()) as { id: string; key: string };
    const a = await agentFor(key, String(origin.port));
    expect((await viaTunnel(server, a.name)).status).toBe(200);
    expect(
      (await fetch(`${server.base}/v1/api-keys/${id}`, { method: 'DELETE', headers: { cookie } }))
        .status,
    ).toBe(204);
    await waitForOutput(a, /401 The API key is not valid: The API key has been revoked/, 20000);
    expect(await a.exited).toBe(1);
    expect((await viaTunnel(server, a.name)).status).toBe(404);
  });

  async function login(email: string): Promise<string> {
    const res = await fetch(`${server.base}/v1/auth/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-for': `192.0.2.${Math.floor(Math.random() * 250)}`,
      },
      body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    });
    if (res.status !== 200) throw new Error(`login ${res.status}`);
    return res.headers.get('set-cookie')!.split(';')[0];
  }
});
