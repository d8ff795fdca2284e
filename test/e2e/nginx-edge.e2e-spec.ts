import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket, { WebSocketServer } from 'ws';
import { NginxEdge } from '../helpers/nginx';
import { spawnNode } from '../helpers/processes';
import { Origin, ServerProcess, startOrigin, waitForOutput } from '../helpers/tunnel-stack';

function viaEdge(
  port: number,
  host: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer } = {},
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: opts.method ?? 'GET',
          path: opts.path ?? '/',
          agent: false,
          headers: {
            host,
            ...(opts.body ? { 'content-length': String(opts.body.length) } : {}),
            ...opts.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    },
  );
}

/** The shipped nginx edge config, rendered and run by the Debian nginx in front of the real server and agent. */
describe('nginx edge (nginx/instatunnel.conf.template)', () => {
  let server: ServerProcess;
  let edge: NginxEdge;
  let locked: NginxEdge;
  let origin: Origin;
  let agent: ReturnType<typeof spawnNode>;
  let name = '';

  beforeAll(async () => {
    server = await ServerProcess.start({ TUNNEL_DOMAIN: 'tunnels.test' });
    const vars = {
      API_UPSTREAM: `127.0.0.1:${new URL(server.base).port}`,
      INGRESS_UPSTREAM: `127.0.0.1:${server.ingressPort}`,
      TUNNEL_DOMAIN: 'tunnels.test',
      API_HOST: '127.0.0.1',
      ADMIN_HOST: 'admin.test',
      ADMIN_ALLOW: '127.0.0.1',
    };
    edge = await NginxEdge.start(vars);
    locked = await NginxEdge.start({ ...vars, ADMIN_ALLOW: '192.0.2.1' });
    origin = await startOrigin((req, res) => {
      const h = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        h.update(c);
      });
      req.on('end', () =>
        res.end(
          JSON.stringify({
            n,
            sha: h.digest('hex'),
            xff: req.headers['x-forwarded-for'],
            proto: req.headers['x-forwarded-proto'],
            host: req.headers['x-forwarded-host'],
          }),
        ),
      );
    });
    new WebSocketServer({ server: origin.server }).on('connection', (ws) =>
      ws.on('message', (m) => ws.send(`echo ${m.toString()}`)),
    );
    const { apiKey } = await server.seed();
    // The agent dials through nginx too.
    agent = spawnNode(
      'dist/libs/agent/src/cli.js',
      [
        'http',
        String(origin.port),
        '--server',
        `http://127.0.0.1:${edge.port}`,
        '--api-key',
        apiKey,
      ],
      {},
    );
    name = (await waitForOutput(agent, /^http:\/\/([a-z0-9-]+)\.tunnels\.test:\d+$/m))[1];
  });

  afterAll(async () => {
    await agent?.stop();
    await origin?.close();
    await Promise.all([edge?.stop(), locked?.stop()]);
    await server?.stop();
  });

  it('carries the agent connection and public traffic, with the client address chain from nginx', async () => {
    const res = await viaEdge(edge.port, `${name}.tunnels.test`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body.toString());
    expect(seen.xff).toBe('203.0.113.9, 127.0.0.1, 127.0.0.1');
    expect(seen.proto).toBe('http');
    expect(seen.host).toBe(`${name}.tunnels.test`);
  });

  it('streams a 64 MiB upload through nginx unbuffered, byte for byte', async () => {
    const body = randomBytes(64 * 1024 * 1024);
    const res = await viaEdge(edge.port, `${name}.tunnels.test`, { method: 'PUT', body });
    expect(JSON.parse(res.body.toString())).toMatchObject({
      n: body.length,
      sha: createHash('sha256').update(body).digest('hex'),
    });
  });

  it('passes WebSockets to the tunnelled app', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/`, {
      headers: { host: `${name}.tunnels.test` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const reply = new Promise<string>((r) => ws.once('message', (m) => r(m.toString())));
    ws.send('through nginx');
    expect(await reply).toBe('echo through nginx');
    ws.close();
  });

  it('keeps tunnel hosts away from the API, and /admin off the API host', async () => {
    for (const path of ['/v1/me', '/admin/users', '/docs']) {
      const r = await viaEdge(edge.port, `${name}.tunnels.test`, { path });
      expect(JSON.parse(r.body.toString())).toMatchObject({ n: 0 });
    }
    expect((await viaEdge(edge.port, '127.0.0.1', { path: '/admin/users' })).status).toBe(404);
    const api = await viaEdge(edge.port, '127.0.0.1', { path: '/v1/me' });
    expect([api.status, api.headers['content-type']]).toEqual([
      401,
      'application/problem+json; charset=utf-8',
    ]);
  });

  it('serves /admin only on the admin host, only to the allowlist', async () => {
    expect((await viaEdge(edge.port, 'admin.test', { path: '/admin/users' })).status).toBe(401);
    expect((await viaEdge(edge.port, 'admin.test', { path: '/v1/orgs' })).status).toBe(404);
    expect((await viaEdge(locked.port, 'admin.test', { path: '/admin/users' })).status).toBe(403);
  });

  it('drops requests for unknown hosts', async () => {
    await expect(viaEdge(edge.port, 'elsewhere.example')).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
  });
});
