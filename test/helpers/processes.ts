import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/** Runs a built entrypoint (`dist/...`) as a real process with its own environment. */
export function spawnNode(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Spawned {
  const child = spawn(process.execPath, [join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function runNode(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; output: string }> {
  const p = spawnNode(script, args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

export async function waitForHttp(url: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface DemoSeed {
  userId: string;
  email: string;
  orgId: string;
  orgSlug: string;
  apiKeyId: string;
  apiKey: string;
}

/** `cli demo-seed`: a verified user owning an org, and an API key with every scope. */
export async function seedDemo(
  env: Record<string, string | undefined>,
  email: string,
  password: string,
  org: string,
): Promise<DemoSeed> {
  const res = await runNode(
    'dist/src/cli.js',
    ['demo-seed', '--email', email, '--password', password, '--org', org],
    env,
  );
  if (res.code !== 0) throw new Error(`demo-seed failed: ${res.output}`);
  return JSON.parse(res.output.trim().split('\n').at(-1)!) as DemoSeed;
}
