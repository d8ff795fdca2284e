import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  peakRssMiB,
  pumpRepeated,
  rssMiB,
  ServerProcess,
  startAgent,
  startOrigin,
  Origin,
  AgentProcess,
} from '../helpers/tunnel-stack';

const SIZE = 1024 * 1024 * 1024;
const CHUNK = randomBytes(1024 * 1024);
const chunkHashOf = (size: number) => {
  const h = createHash('sha256');
  for (let left = size; left > 0; left -= CHUNK.length)
    h.update(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
  return h.digest('hex');
};

/** Bodies are streamed both ways with backpressure: 1 GiB passes while memory stays flat. */
describe('1 GiB through the tunnel', () => {
  let server: ServerProcess;
  let origin: Origin;
  let agent: AgentProcess;
  const expected = chunkHashOf(SIZE);

  beforeAll(async () => {
    server = await ServerProcess.start();
    const { apiKey } = await server.seed();
    origin = await startOrigin((req, res) => {
      if (req.method === 'POST') {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
          h.update(c);
        });
        req.on('end', () => res.end(JSON.stringify({ n, sha256: h.digest('hex') })));
        return;
      }
      res.writeHead(200, { 'content-length': SIZE, 'content-type': 'application/octet-stream' });
      pumpRepeated(res, SIZE, CHUNK);
    });
    agent = await startAgent(server, apiKey, String(origin.port), ['--log', 'none']);
  });

  afterAll(async () => {
    await agent?.stop();
    await origin?.close();
    await server?.stop();
  });

  it('uploads and downloads 1 GiB byte for byte; server and agent peak memory grow by less than 100 MiB', async () => {
    const before = { server: rssMiB(server.proc.child.pid!), agent: rssMiB(agent.child.pid!) };

    const uploaded = await new Promise<{ n: number; sha256: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.ingressPort,
          method: 'POST',
          path: '/up',
          agent: false,
          headers: { host: `${agent.name}.localhost`, 'content-length': String(SIZE) },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(JSON.parse(body) as { n: number; sha256: string }));
        },
      );
      req.on('error', reject);
      pumpRepeated(req, SIZE, CHUNK);
    });
    expect(uploaded).toEqual({ n: SIZE, sha256: expected });

    const downloaded = await new Promise<{ n: number; sha256: string }>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port: server.ingressPort,
            path: '/down',
            agent: false,
            headers: { host: `${agent.name}.localhost` },
          },
          (res) => {
            const h = createHash('sha256');
            let n = 0;
            res.on('data', (c: Buffer) => {
              n += c.length;
              h.update(c);
            });
            res.on('end', () => resolve({ n, sha256: h.digest('hex') }));
          },
        )
        .on('error', reject);
    });
    expect(downloaded).toEqual({ n: SIZE, sha256: expected });

    const growth = {
      server: peakRssMiB(server.proc.child.pid!) - before.server,
      agent: peakRssMiB(agent.child.pid!) - before.agent,
    };
    expect(growth.server).toBeLessThan(100);
    expect(growth.agent).toBeLessThan(100);
  }, 300_000);
});
