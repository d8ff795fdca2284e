import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode, spawnNode } from '../helpers/processes';
import {
  Origin,
  ServerProcess,
  startAgent,
  startOrigin,
  viaTunnel,
  waitForOutput,
} from '../helpers/tunnel-stack';

/** The `instatunnel` CLI as a user runs it: login, graceful Ctrl-C, surviving a server restart. */
describe('instatunnel CLI', () => {
  let server: ServerProcess;
  let origin: Origin;
  let apiKey: string;

  beforeAll(async () => {
    server = await ServerProcess.start({ AGENT_PING_INTERVAL_MS: '1000' });
    apiKey = (await server.seed()).apiKey;
    origin = await startOrigin((req, res) => {
      const delay = req.url === '/slow' ? 1500 : 0;
      setTimeout(() => res.end(`done ${req.url}`), delay);
    });
  });

  afterAll(async () => {
    await origin?.close();
    await server?.stop();
  });

  it('login stores the key with mode 0600, and http uses it (and the saved server)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'instatunnel-'));
    const env = { XDG_CONFIG_HOME: home };
    const login = await runNode(
      'dist/libs/agent/src/cli.js',
      ['login', apiKey, '--server', server.base],
      env,
    );
    expect(login.code).toBe(0);
    const file = join(home, 'instatunnel', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ apiKey, server: server.base });
    const agent = spawnNode('dist/libs/agent/src/cli.js', ['http', String(origin.port)], env);
    try {
      const [, name] = await waitForOutput(agent, /^http:\/\/([a-z0-9-]+)\.localhost:\d+$/m);
      expect((await viaTunnel(server, name)).body.toString()).toBe('done /');
    } finally {
      await agent.stop();
    }
  });

  it.each([
    [['http'], /needs the local port/],
    [['http', '99999'], /is not a port or host:port/],
    [['http', '3000', '--host-header', 'sideways'], /--host-header must be rewrite or preserve/],
    [['http', '3000', '--origin-timeout=-1'], /--origin-timeout must be a positive number/],
    [['http', '3000', '--origin-timeout', 'soon'], /--origin-timeout must be a positive number/],
    [['http', '3000', '--log', 'loud'], /--log must be requests or none/],
    [['http', '3000', '--bogus'], /Unknown option/],
    [['login', 'not-a-key'], /login needs an API key/],
    [['tcp', '22'], /unknown command "tcp"/],
  ])('refuses %j with a usage message and exit code 2', async (args, message) => {
    const res = await runNode('dist/libs/agent/src/cli.js', args, {
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'instatunnel-')),
      INSTATUNNEL_API_KEY: apiKey,
    });
    expect(res.code).toBe(2);
    expect(res.output).toMatch(message);
    expect(res.output).toContain('Usage:');
  });

  it('says clearly when there is no API key at all', async () => {
    const res = await runNode('dist/libs/agent/src/cli.js', ['http', '3000'], {
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'instatunnel-')),
    });
    expect(res.code).toBe(2);
    expect(res.output).toMatch(/no API key/);
  });

  it('Ctrl-C lets an in-flight request finish, then exits 0', async () => {
    const agent = await startAgent(server, apiKey, String(origin.port));
    const pending = viaTunnel(server, agent.name, { path: '/slow' });
    await new Promise((r) => setTimeout(r, 300));
    agent.child.kill('SIGINT');
    const res = await pending;
    expect([res.status, res.body.toString()]).toEqual([200, 'done /slow']);
    expect(await agent.exited).toBe(0);
    expect(agent.output()).toContain('stopping: letting in-flight requests finish');
  });

  it('survives a server restart and gets its random name back', async () => {
    const agent = await startAgent(server, apiKey, String(origin.port));
    try {
      await server.proc.stop();
      await waitForOutput(agent, /connection lost/);
      server.proc = spawnNode('dist/src/main.js', [], server.env);
      await waitForOutput(
        agent,
        new RegExp(`reconnected: http://${agent.name}\\.localhost`),
        30000,
      );
      expect((await viaTunnel(server, agent.name)).body.toString()).toBe('done /');
    } finally {
      await agent.stop();
    }
  });
});
