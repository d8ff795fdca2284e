import { randomBytes, createHash } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { signHop } from '../../src/tunnels/node-hop';
import {
  AgentProcess,
  Origin,
  ServerProcess,
  startAgent,
  startOrigin,
  viaTunnel,
} from '../helpers/tunnel-stack';

const SECRET = randomBytes(24).toString('hex');

/** Two server processes on one Redis and one database; the agent is connected to the first only. */
describe('multi-node: a request landing on a node without the agent', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let origin: Origin;
  let agent: AgentProcess;
  let orgId: string;
  let apiKey: string;
  const redisPrefix = `${process.env.REDIS_PREFIX}mn-${randomBytes(3).toString('hex')}:`;
  const env = {
    NODE_SECRET: SECRET,
    AGENT_PING_INTERVAL_MS: '1000',
    METRICS_TOKEN: 'metrics-token-0123456789',
  };

  beforeAll(async () => {
    [a, b] = await Promise.all([
      ServerProcess.start(env, { redisPrefix }),
      ServerProcess.start(env, { redisPrefix }),
    ]);
    const seeded = await a.seed();
    orgId = seeded.orgId;
    apiKey = seeded.apiKey;
    origin = await startOrigin((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.end(
          JSON.stringify({
            url: req.url,
            xff: req.headers['x-forwarded-for'],
            hop: req.headers['x-instatunnel-hop'] ?? null,
            sha: createHash('sha256').update(body).digest('hex'),
          }),
        );
      });
    });
    new WebSocketServer({ server: origin.server }).on('connection', (ws) =>
      ws.on('message', (m) => ws.send(`echo ${m.toString()}`)),
    );
    agent = await startAgent(a, seeded.apiKey, String(origin.port));
  });

  afterAll(async () => {
    await agent?.stop();
    await origin?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('is forwarded to the owning node over the signed internal hop, body intact, X-Forwarded-For from the first node', async () => {
    const body = randomBytes(200_000);
    const res = await viaTunnel(b, agent.name, {
      method: 'POST',
      path: '/via-b?x=1',
      body,
      headers: { 'x-forwarded-for': '203.0.113.50' },
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body.toString());
    expect(seen).toEqual({
      url: '/via-b?x=1',
      xff: '203.0.113.50, 127.0.0.1',
      hop: null,
      sha: createHash('sha256').update(body).digest('hex'),
    });
  });

  it('passes WebSockets across nodes too', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.ingressPort}/ws`, {
      headers: { host: `${agent.name}.localhost` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((r) => ws.once('message', (m) => r(m.toString())));
    ws.send('across');
    expect(await reply).toBe('echo across');
    ws.close();
  });

  it('counts the request once: served on the owning node, only "forwarded" on the other', async () => {
    const before = await scrape(a);
    const beforeB = await scrape(b);
    await viaTunnel(b, agent.name);
    const after = await scrape(a);
    const afterB = await scrape(b);
    expect(
      metric(after, 'instatunnel_ingress_requests_total{status_class="2xx"}') -
        metric(before, 'instatunnel_ingress_requests_total{status_class="2xx"}'),
    ).toBe(1);
    expect(
      metric(afterB, 'instatunnel_ingress_requests_total{status_class="2xx"}') -
        metric(beforeB, 'instatunnel_ingress_requests_total{status_class="2xx"}'),
    ).toBe(0);
    expect(
      metric(afterB, 'instatunnel_ingress_forwarded_total') -
        metric(beforeB, 'instatunnel_ingress_forwarded_total'),
    ).toBe(1);
    expect(metric(after, 'instatunnel_agents_connected')).toBe(1);
    expect(metric(afterB, 'instatunnel_agents_connected')).toBe(0);
  });

  it('refuses a forged or stale hop header (403) instead of trusting its X-Forwarded-For', async () => {
    const host = `${agent.name}.localhost:${a.ingressPort}`;
    const forged = await viaTunnel(a, agent.name, {
      headers: {
        'x-instatunnel-hop': signHop('not-the-secret-'.repeat(3), 'GET', host, '/'),
        'x-forwarded-for': '1.2.3.4',
      },
    });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.body.toString()).type).toMatch(/bad-hop$/);
    const stale = await viaTunnel(a, agent.name, {
      headers: { 'x-instatunnel-hop': signHop(SECRET, 'GET', host, '/', Date.now() - 60_000) },
    });
    expect(stale.status).toBe(403);
  });

  it('lists the tunnel from either node, naming the node that holds it; other orgs see nothing', async () => {
    const fromA = (await (
      await fetch(`${a.base}/v1/orgs/${orgId}/tunnels`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
    ).json()) as { name: string; node: string }[];
    const fromB = (await (
      await fetch(`${b.base}/v1/orgs/${orgId}/tunnels`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
    ).json()) as { name: string; node: string }[];
    expect(fromA).toEqual(fromB);
    expect(fromB).toEqual([
      expect.objectContaining({
        name: agent.name,
        node: expect.stringMatching(/-\d+-[0-9a-f]{4}$/),
      }),
    ]);
    const other = await a.seed();
    const res = await fetch(`${b.base}/v1/orgs/${other.orgId}/tunnels`, {
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expect(await res.json()).toEqual([]);
    const cross = await fetch(`${b.base}/v1/orgs/${orgId}/tunnels`, {
      headers: { authorization: `Bearer ${other.apiKey}` },
    });
    expect(cross.status).toBe(404);
  });

  it('protects /metrics with its own bearer token', async () => {
    expect((await fetch(`${a.base}/metrics`)).status).toBe(401);
    expect(
      (
        await fetch(`${a.base}/metrics`, {
          headers: { authorization: 'Bearer wrong-token-0123456789' },
        })
      ).status,
    ).toBe(401);
    const ok = await fetch(`${a.base}/metrics`, {
      headers: { authorization: 'Bearer metrics-token-0123456789' },
    });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    for (const name of [
      'instatunnel_agents_connected',
      'instatunnel_tunnels_active',
      'instatunnel_ingress_bytes_total',
      'instatunnel_ingress_response_seconds_bucket',
      'instatunnel_process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('when the owning node dies, its names expire and the other node answers 404 within seconds', async () => {
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await viaTunnel(b, agent.name)).status;
      if (status === 404) break;
      expect([502, 404]).toContain(status);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(404);
  });

  async function scrape(s: ServerProcess): Promise<string> {
    const res = await fetch(`${s.base}/metrics`, {
      headers: { authorization: 'Bearer metrics-token-0123456789' },
    });
    return res.text();
  }

  function metric(text: string, series: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  }
});
