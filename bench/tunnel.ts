/**
 * Tunnel data-plane benchmark (not a test). In one run it measures the origin directly, through a
 * one-hop keep-alive Node reverse proxy (the baseline), and through InstaTunnel (built server
 * process + real agent process): req/s at 50 connections, mean latency at 1 connection, 10 MiB
 * download MB/s, peak RSS growth of server and agent for a 1 GiB upload and download, and server
 * RSS with 1,000 idle tunnels. Prints a table and writes bench/results/tunnel.json.
 *   npm run build && npm run bench:tunnel
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { TunnelAgent } from '../libs/agent/src/agent';
import { scratchDatabase } from './scratch-db';
import { freePort, runNode, seedDemo, spawnNode, waitForHttp } from '../test/helpers/processes';
import { peakRssMiB, pumpRepeated, rssMiB } from '../test/helpers/tunnel-stack';

const ROOT = join(__dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const BIG = Number(process.env.BENCH_BIG_MIB ?? 1024) * 1024 * 1024;
const IDLE = Number(process.env.BENCH_IDLE_TUNNELS ?? 1000);

const ORIGIN = `
const http = require('http');
const k1 = Buffer.alloc(1024, 97), m10 = Buffer.alloc(10 * 1024 * 1024, 98), chunk = Buffer.alloc(1024 * 1024, 99);
http.createServer((req, res) => {
  if (req.url === '/10m') { res.writeHead(200, { 'content-length': m10.length }); return res.end(m10); }
  if (req.url.startsWith('/big/')) {
    let left = Number(req.url.slice(5));
    res.writeHead(200, { 'content-length': left });
    const pump = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', pump); } res.end(); };
    return pump();
  }
  if (req.method === 'POST') { let n = 0; req.on('data', (c) => n += c.length); return req.on('end', () => res.end(String(n))); }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': k1.length }); res.end(k1);
}).listen(Number(process.env.PORT), '127.0.0.1');`;

// The baseline: a plain keep-alive reverse proxy, one hop, no tunnel.
const PROXY = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: Number(process.env.UPSTREAM), method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(up);
}).listen(Number(process.env.PORT), '127.0.0.1');`;

function nodeScript(code: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['-e', code], {
    env: { ...process.env, ...env },
    stdio: 'inherit',
  });
}

async function rps(url: string, host: string, connections: number) {
  const r = await autocannon({ url, connections, duration: SECONDS, headers: { host } });
  return {
    rps: Math.round(r.requests.average),
    meanMs: r.latency.average,
    errors: r.errors + r.non2xx,
  };
}

/** Sequential streaming downloads, MB/s (autocannon under-reads large bodies). */
async function download(port: number, host: string, path: string, count: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    bytes += await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
        })
        .on('error', reject);
    });
  }
  agent.destroy();
  return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function upload(port: number, host: string, size: number): Promise<number> {
  const chunk = randomBytes(1024 * 1024);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: { host, 'content-length': String(size) },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(Number(body)));
      },
    );
    req.on('error', reject);
    pumpRepeated(req, size, chunk);
  });
}

async function main(): Promise<void> {
  const db = await scratchDatabase();
  const [originPort, proxyPort, apiPort, ingressPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: `it-bench-${randomBytes(3).toString('hex')}:`,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    INGRESS_PORT: String(ingressPort),
    INGRESS_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TUNNELS_PER_ORG: String(IDLE + 10),
    PATH: process.env.PATH ?? '',
  };
  const children: { stop(): Promise<void> }[] = [];
  const kill = (c: ChildProcess) => ({ stop: async () => void c.kill('SIGTERM') });
  try {
    children.push(kill(nodeScript(ORIGIN, { PORT: String(originPort) })));
    children.push(
      kill(nodeScript(PROXY, { PORT: String(proxyPort), UPSTREAM: String(originPort) })),
    );
    await runNode('dist/src/cli.js', ['migrate'], env);
    const { apiKey } = await seedDemo(env, 'bench@example.com', 'bench password 123', 'bench');
    const server = spawnNode('dist/src/main.js', [], env);
    children.push(server);
    await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`);
    const agent = spawnNode(
      'dist/libs/agent/src/cli.js',
      [
        'http',
        String(originPort),
        '--server',
        `http://127.0.0.1:${apiPort}`,
        '--api-key',
        apiKey,
        '--name',
        'bench',
        '--log',
        'none',
      ],
      {},
    );
    children.push(agent);
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`http://127.0.0.1:${ingressPort}/`, {
        headers: { host: 'bench.localhost' },
      }).catch(() => null);
      if (res?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tunnelHost = 'bench.localhost';
    await waitForHttp(`http://127.0.0.1:${originPort}/`);
    await waitForHttp(`http://127.0.0.1:${proxyPort}/`);

    const targets = [
      { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` },
      { name: 'baseline proxy', port: proxyPort, host: `127.0.0.1:${proxyPort}` },
      { name: 'tunnel', port: ingressPort, host: tunnelHost },
    ];
    const results: Record<string, { rps: number; meanMs: number; mbps: number; errors: number }> =
      {};
    for (const t of targets) {
      await rps(`http://127.0.0.1:${t.port}/`, t.host, 10); // warm-up
      const c50 = await rps(`http://127.0.0.1:${t.port}/`, t.host, 50);
      const c1 = await rps(`http://127.0.0.1:${t.port}/`, t.host, 1);
      const mbps = await download(t.port, t.host, '/10m', 30);
      results[t.name] = { rps: c50.rps, meanMs: c1.meanMs, mbps, errors: c50.errors + c1.errors };
    }

    const serverPid = server.child.pid!;
    const agentPid = agent.child.pid!;
    const before = { server: rssMiB(serverPid), agent: rssMiB(agentPid) };
    const upBytes = await upload(ingressPort, tunnelHost, BIG);
    const downMbps = await download(ingressPort, tunnelHost, `/big/${BIG}`, 1);
    const peak = { server: peakRssMiB(serverPid), agent: peakRssMiB(agentPid) };

    const idleAgents: TunnelAgent[] = [];
    const rssBeforeIdle = rssMiB(serverPid);
    let online = 0;
    for (let i = 0; i < IDLE; i++) {
      const a = new TunnelAgent({
        server: `http://127.0.0.1:${apiPort}`,
        apiKey,
        target: { host: '127.0.0.1', port: originPort },
        hostHeader: 'rewrite',
        originTimeoutMs: 60000,
      });
      a.on('online', () => online++);
      a.start();
      idleAgents.push(a);
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 300 && online < IDLE; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));
    const rssIdle = rssMiB(serverPid);
    await Promise.all(idleAgents.map((a) => a.stop(100)));

    const d = results.direct;
    const b = results['baseline proxy'];
    const t = results.tunnel;
    const rows = [
      {
        metric: 'req/s @50 conns (1 KiB)',
        direct: d.rps,
        baseline: b.rps,
        tunnel: t.rps,
        'tunnel/direct': (t.rps / d.rps).toFixed(2),
        'tunnel/baseline': (t.rps / b.rps).toFixed(2),
        target: '>= 0.5x baseline',
      },
      {
        metric: 'mean latency @1 conn (ms)',
        direct: d.meanMs,
        baseline: b.meanMs,
        tunnel: t.meanMs,
        'tunnel/direct': `+${(t.meanMs - d.meanMs).toFixed(2)} ms`,
        'tunnel/baseline': `+${(t.meanMs - b.meanMs).toFixed(2)} ms`,
        target: '<= +0.3 ms vs direct',
      },
      {
        metric: '10 MiB download (MB/s)',
        direct: Math.round(d.mbps),
        baseline: Math.round(b.mbps),
        tunnel: Math.round(t.mbps),
        'tunnel/direct': (t.mbps / d.mbps).toFixed(2),
        'tunnel/baseline': (t.mbps / b.mbps).toFixed(2),
        target: '>= 0.3x direct',
      },
    ];
    console.table(rows);
    const memory = {
      uploadMiB: BIG / 1048576,
      uploadReceivedBytes: upBytes,
      downloadMBps: Math.round(downMbps),
      serverRssBeforeMiB: Math.round(before.server),
      serverPeakRssMiB: Math.round(peak.server),
      serverPeakGrowthMiB: Math.round(peak.server - before.server),
      agentRssBeforeMiB: Math.round(before.agent),
      agentPeakRssMiB: Math.round(peak.agent),
      agentPeakGrowthMiB: Math.round(peak.agent - before.agent),
      idleTunnels: IDLE,
      idleTunnelsOnline: online,
      serverRssBeforeIdleMiB: Math.round(rssBeforeIdle),
      serverRssWithIdleTunnelsMiB: Math.round(rssIdle),
    };
    console.table([memory]);
    const errors = d.errors + b.errors + t.errors;
    if (errors) console.warn(`non-2xx or errors during load: ${errors}`);
    writeFileSync(
      join(ROOT, 'bench/results/tunnel.json'),
      JSON.stringify(
        {
          date: new Date().toISOString(),
          node: process.version,
          seconds: SECONDS,
          results,
          rows,
          memory,
          errors,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    for (const c of children.reverse()) await c.stop();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
