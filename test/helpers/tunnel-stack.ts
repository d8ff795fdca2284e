import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PASSWORD, uniqueEmail } from './harness';
import { freePort, seedDemo, spawnNode, Spawned, waitForHttp } from './processes';

export interface Seeded {
  apiKey: string;
  orgId: string;
  email: string;
}

/** The built API server as a real process, with its ingress on a free port and its own Redis namespace. */
export class ServerProcess {
  base = '';
  ingressPort = 0;
  proc!: Spawned;
  env: Record<string, string | undefined> = {};

  static async start(
    extraEnv: Record<string, string> = {},
    shared?: { redisPrefix: string },
  ): Promise<ServerProcess> {
    const s = new ServerProcess();
    const [port, ingress] = [await freePort(), await freePort()];
    s.base = `http://127.0.0.1:${port}`;
    s.ingressPort = ingress;
    s.env = {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX:
        shared?.redisPrefix ?? `${process.env.REDIS_PREFIX}tun-${randomBytes(3).toString('hex')}:`,
      PORT: String(port),
      HOST: '127.0.0.1',
      INGRESS_PORT: String(ingress),
      INGRESS_HOST: '127.0.0.1',
      TUNNEL_DOMAIN: 'localhost',
      COOKIE_SECURE: 'false',
      LOG_LEVEL: 'warn',
      SMTP_URL: 'smtp://127.0.0.1:9',
      ...extraEnv,
    };
    s.proc = spawnNode('dist/src/main.js', [], s.env);
    await waitForHttp(`${s.base}/readyz`);
    return s;
  }

  async seed(org = `t-${randomBytes(4).toString('hex')}`): Promise<Seeded> {
    const email = uniqueEmail('tun');
    const out = await seedDemo(this.env, email, PASSWORD, org);
    return { apiKey: out.apiKey, orgId: out.orgId, email };
  }

  /** Peak resident memory of the server process so far (VmHWM), in MiB. */
  peakRssMiB(): number {
    return peakRssMiB(this.proc.child.pid!);
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/** Current resident memory of a process (VmRSS), in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface AgentProcess extends Spawned {
  url: string;
  name: string;
}

/** Runs the real `instatunnel` CLI; resolves once it printed its public URL. */
export async function startAgent(
  server: ServerProcess,
  apiKey: string,
  target: string,
  args: string[] = [],
): Promise<AgentProcess> {
  const proc = spawnNode(
    'dist/libs/agent/src/cli.js',
    ['http', target, '--server', server.base, '--api-key', apiKey, ...args],
    {},
  );
  const deadline = Date.now() + 20000;
  for (;;) {
    const m = /^(http:\/\/([a-z0-9-]+)\.localhost:\d+)$/m.exec(proc.output());
    if (m) return Object.assign(proc, { url: m[1], name: m[2] });
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`agent did not come online: ${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitForOutput(
  proc: Spawned,
  pattern: RegExp,
  timeoutMs = 20000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(proc.output());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Origin {
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function startOrigin(handler: http.RequestListener): Promise<Origin> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface TunnelResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request to the ingress for `<name>.localhost`, without DNS. */
export function viaTunnel(
  server: ServerProcess,
  name: string,
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  } = {},
): Promise<TunnelResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.ingressPort,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: {
          host: `${name}.localhost:${server.ingressPort}`,
          ...(opts.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(opts.body)) }
            : {}),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Writes `size` bytes of `chunk` repeated, honouring backpressure, then ends the stream. */
export function pumpRepeated(out: NodeJS.WritableStream, size: number, chunk: Buffer): void {
  let left = size;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!out.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        out.once('drain', pump);
        return;
      }
    }
    out.end();
  };
  pump();
}
