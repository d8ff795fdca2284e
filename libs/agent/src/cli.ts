#!/usr/bin/env node
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_VERSION, TunnelAgent } from './agent';
import type { RequestLog } from './local-origin';
import { parseOriginTarget } from './target';

const USAGE = `instatunnel ${AGENT_VERSION}: expose a local app through your InstaTunnel server

Usage:
  instatunnel http <port|host:port> [--name NAME] [--server URL] [--api-key KEY]
                   [--host-header rewrite|preserve] [--origin-timeout SECONDS] [--json]
                   [--log requests|none]   (none: no line per request, for heavy traffic)
  instatunnel login <api key> [--server URL]    save the key (and server) to the config file
  instatunnel version

The API key comes from --api-key, else INSTATUNNEL_API_KEY, else the config file
(${configPath()}). The server from --server, else INSTATUNNEL_SERVER, else the config
file, else http://localhost:3000.
`;

function configPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'instatunnel', 'config.json');
}

interface SavedConfig {
  apiKey?: string;
  server?: string;
}

function readConfig(): SavedConfig {
  const path = configPath();
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SavedConfig;
  } catch {
    throw new UsageError(`the config file ${path} is not valid JSON`);
  }
}

class UsageError extends Error {}

function parseTarget(raw: string): { host: string; port: number } {
  const target = parseOriginTarget(raw);
  if (!target) throw new UsageError(`"${raw}" is not a port or host:port`);
  return target;
}

function formatLine(log: RequestLog): string {
  const time = log.time.slice(11, 19);
  const size =
    log.bytesOut < 1024
      ? `${log.bytesOut} B`
      : log.bytesOut < 1048576
        ? `${(log.bytesOut / 1024).toFixed(1)} KiB`
        : `${(log.bytesOut / 1048576).toFixed(1)} MiB`;
  const status = log.status || '---';
  return `${time}  ${log.method.padEnd(7)} ${log.path.length > 60 ? `${log.path.slice(0, 57)}...` : log.path.padEnd(60)} ${status}  ${log.durationMs.toFixed(1).padStart(8)} ms  ${size}${log.error ? `  (${log.error})` : ''}`;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      server: { type: 'string' },
      'api-key': { type: 'string' },
      'host-header': { type: 'string', default: 'rewrite' },
      'origin-timeout': { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
      log: { type: 'string', default: 'requests' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'version') {
    console.log(AGENT_VERSION);
    return 0;
  }
  const saved = readConfig();
  if (command === 'login') {
    if (!arg || !/^it_[0-9A-Za-z]{50}$/.test(arg))
      throw new UsageError('login needs an API key (it_ followed by 50 letters and digits)');
    const path = configPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(
      path,
      JSON.stringify(
        { ...saved, apiKey: arg, ...(values.server ? { server: values.server } : {}) },
        null,
        2,
      ) + '\n',
      { mode: 0o600 },
    );
    chmodSync(path, 0o600);
    console.log(`saved to ${path}`);
    return 0;
  }
  if (command !== 'http') throw new UsageError(`unknown command "${command}"`);
  if (!arg) throw new UsageError('http needs the local port, e.g. instatunnel http 3000');
  const target = parseTarget(arg);
  const apiKey = values['api-key'] ?? process.env.INSTATUNNEL_API_KEY ?? saved.apiKey;
  if (!apiKey)
    throw new UsageError(
      'no API key: pass --api-key, set INSTATUNNEL_API_KEY or run instatunnel login <key>',
    );
  const server =
    values.server ?? process.env.INSTATUNNEL_SERVER ?? saved.server ?? 'http://localhost:3000';
  try {
    new URL(server);
  } catch {
    throw new UsageError(`--server "${server}" is not a URL`);
  }
  const hostHeader = values['host-header'];
  if (hostHeader !== 'rewrite' && hostHeader !== 'preserve')
    throw new UsageError('--host-header must be rewrite or preserve');
  const timeout = Number(values['origin-timeout']);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError('--origin-timeout must be a positive number of seconds');

  const json = values.json;
  const say = (event: string, fields: Record<string, unknown>, text: string) =>
    json ? console.log(JSON.stringify({ event, ...fields })) : console.log(text);

  const agent = new TunnelAgent({
    server,
    apiKey,
    target,
    name: values.name,
    hostHeader,
    originTimeoutMs: timeout * 1000,
  });
  let announced = false;
  agent.on('online', (info: { url: string; name: string; tunnelId: string }) => {
    if (!announced) {
      if (json) say('online', info, '');
      else {
        console.log(info.url);
        console.log(
          `Forwarding ${info.url} -> http://${target.host}:${target.port}   (Ctrl-C to stop)`,
        );
      }
      announced = true;
    } else {
      say('reconnected', info, `reconnected: ${info.url}`);
    }
  });
  agent.on('offline', (e: { reason: string; retryInMs: number }) =>
    say(
      'offline',
      e,
      `connection lost (${e.reason}); reconnecting in ${(e.retryInMs / 1000).toFixed(1)} s`,
    ),
  );
  agent.on('error-detail', (message: string) =>
    say('error', { message }, `cannot reach ${server}: ${message}`),
  );
  if (values.log !== 'requests' && values.log !== 'none')
    throw new UsageError('--log must be requests or none');
  if (values.log === 'requests') {
    agent.on('request', (log: RequestLog) =>
      json
        ? console.log(JSON.stringify({ event: 'request', ...log }))
        : console.log(formatLine(log)),
    );
  }

  return new Promise<number>((resolve) => {
    agent.on(
      'refused',
      (r: { status: number; title: string; detail?: string; permanent: boolean }) => {
        say(
          'refused',
          r,
          `server refused the tunnel: ${r.status} ${r.title}${r.detail ? `: ${r.detail}` : ''}`,
        );
        if (r.permanent) resolve(1);
      },
    );
    let signals = 0;
    const shutdown = () => {
      signals++;
      if (signals > 1) process.exit(130);
      say('stopping', {}, 'stopping: letting in-flight requests finish (Ctrl-C again to quit now)');
      void agent.stop().then(() => resolve(0));
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    agent.start();
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
