import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runNode } from './processes';

/** The Debian nginx binary, running the rendered edge config in a private prefix on a free port. */
export class NginxEdge {
  port = 0;
  private dir = '';
  private proc?: ReturnType<typeof spawn>;
  output = '';

  static binary(): string {
    for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
      try {
        execFileSync(candidate, ['-v'], { stdio: 'ignore' });
        return candidate;
      } catch {
        // try the next one
      }
    }
    throw new Error('nginx is not installed (apt-get install -y nginx)');
  }

  static async start(vars: Record<string, string>): Promise<NginxEdge> {
    const edge = new NginxEdge();
    edge.port = await freePort();
    edge.dir = mkdtempSync(join(tmpdir(), 'instatunnel-nginx-'));
    mkdirSync(join(edge.dir, 'logs'));
    const rendered = await runNode('ops-scripts/render-nginx.js', [], {
      ...vars,
      LISTEN: `127.0.0.1:${edge.port}`,
    });
    if (rendered.code !== 0) throw new Error(rendered.output);
    writeFileSync(join(edge.dir, 'instatunnel.conf'), rendered.output);
    const d = edge.dir;
    writeFileSync(
      join(d, 'nginx.conf'),
      `worker_processes 1;
error_log ${d}/logs/error.log warn;
pid ${d}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fcgi;
  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
  include ${d}/instatunnel.conf;
}
`,
    );
    const bin = NginxEdge.binary();
    execFileSync(bin, ['-t', '-q', '-p', d, '-c', join(d, 'nginx.conf')], { stdio: 'pipe' });
    edge.proc = spawn(bin, ['-p', d, '-c', join(d, 'nginx.conf'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    edge.proc.stdout!.on('data', (c: Buffer) => (edge.output += c.toString()));
    edge.proc.stderr!.on('data', (c: Buffer) => (edge.output += c.toString()));
    const deadline = Date.now() + 10000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${edge.port}/`).then(
        () => true,
        (e: Error & { cause?: { code?: string } }) => e.cause?.code !== 'ECONNREFUSED',
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${edge.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return edge;
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc!.once('exit', r));
    this.proc.kill('SIGQUIT');
    await exited;
  }
}
