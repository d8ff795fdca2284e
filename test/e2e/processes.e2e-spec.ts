import { randomBytes } from 'node:crypto';
import { PASSWORD, uniqueEmail } from '../helpers/harness';
import { freePort, runNode, spawnNode, Spawned, waitForHttp } from '../helpers/processes';
import { SmtpSink, tokenFrom } from '../helpers/smtp-sink';

/** The built server, worker and ops CLI as real processes, the way an operator runs them. */
describe('processes: npm start, npm run start:worker, npm run cli', () => {
  let smtp: SmtpSink;
  let server: Spawned;
  let worker: Spawned;
  let base: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    smtp = await new SmtpSink().start();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: `${process.env.REDIS_PREFIX}proc-${randomBytes(3).toString('hex')}:`,
      SMTP_URL: smtp.url,
      PUBLIC_URL: 'https://tunnels.example.test',
      COOKIE_SECURE: 'false',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    server = spawnNode('dist/src/main.js', [], env);
    worker = spawnNode('dist/src/worker.js', [], env);
    await waitForHttp(`${base}/readyz`);
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), worker?.stop()]);
    await smtp?.stop();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('signs up through the server process; the worker process delivers the mail over SMTP', async () => {
    const email = uniqueEmail('proc');
    expect((await post('/v1/auth/signup', { email, password: PASSWORD })).status).toBe(201);
    const mail = await smtp.waitFor(email);
    expect(mail.text).toContain('https://tunnels.example.test/verify-email?token=');
    expect((await post('/v1/auth/verify-email', { token: tokenFrom(mail) })).status).toBe(200);
  });

  it('logs one structured line per request with the request id and never the credentials', async () => {
    const secret = 'it_' + 'A'.repeat(50);
    await fetch(`${base}/v1/me`, {
      headers: { authorization: `Bearer ${secret}`, 'x-request-id': 'log-check-1' },
    });
    await post(
      '/v1/auth/login',
      { email: uniqueEmail(), password: 'hunter2hunter2' },
      { 'x-request-id': 'log-check-2' },
    );
    await new Promise((r) => setTimeout(r, 300));
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.includes('log-check-'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const entries = lines.map(
      (l) =>
        JSON.parse(l) as {
          requestId: string;
          req: { method: string };
          res: { statusCode: number };
        },
    );
    expect(entries.map((e) => [e.requestId, e.req.method, e.res.statusCode]).sort()).toEqual([
      ['log-check-1', 'GET', 401],
      ['log-check-2', 'POST', 401],
    ]);
    expect(server.output()).not.toContain(secret);
    expect(server.output()).not.toContain('hunter2hunter2');
  });

  it('creates a platform admin with the CLI; /admin needs that admin’s session, never an API key', async () => {
    const email = uniqueEmail('admin');
    const created = await runNode('dist/src/cli.js', ['create-admin', '--email', email], {
      ...env,
      INSTATUNNEL_ADMIN_PASSWORD: PASSWORD,
    });
    expect(created.output).toContain(`platform admin ready: ${email}`);
    expect(created.code).toBe(0);

    const login = await post(
      '/v1/auth/login',
      { email, password: PASSWORD },
      { 'x-forwarded-for': '192.0.2.10' },
    );
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const page1 = await fetch(`${base}/admin/users?limit=1`, { headers: { cookie } });
    expect(page1.status).toBe(200);
    const body1 = (await page1.json()) as { items: { email: string }[]; nextCursor: string };
    expect(body1.items).toHaveLength(1);
    const page2 = await fetch(`${base}/admin/users?limit=200&cursor=${body1.nextCursor}`, {
      headers: { cookie },
    });
    const body2 = (await page2.json()) as { items: { email: string }[] };
    expect(body2.items.map((u) => u.email)).not.toContain(body1.items[0].email);
    expect([...body1.items, ...body2.items].map((u) => u.email)).toContain(email);
    const filtered = (await (
      await fetch(`${base}/admin/users?email=${encodeURIComponent(email)}`, { headers: { cookie } })
    ).json()) as { items: unknown[] };
    expect(filtered.items).toHaveLength(1);
    const badCursor = await fetch(`${base}/admin/users?cursor=garbage`, { headers: { cookie } });
    expect(badCursor.status).toBe(400);

    // The same admin's API key does not open /admin.
    const org = await post(
      '/v1/orgs',
      { name: 'Ops', slug: `ops-${randomBytes(4).toString('hex')}` },
      { cookie },
    );
    const { id: orgId } = (await org.json()) as { id: string };
    const keyRes = await post(
      '/v1/api-keys',
      { name: 'k', orgId, scopes: ['org:read'] },
      { cookie },
    );
    const { key } = (await keyRes.json()) as { key: string };
    const viaKey = await fetch(`${base}/admin/users`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(viaKey.status).toBe(403);
    expect(((await viaKey.json()) as { type: string }).type).toMatch(/admin-required$/);

    // A regular user's session does not either.
    const userEmail = uniqueEmail('plain');
    await runNode(
      'dist/src/cli.js',
      [
        'demo-seed',
        '--email',
        userEmail,
        '--password',
        PASSWORD,
        '--org',
        `plain-${randomBytes(3).toString('hex')}`,
      ],
      env,
    );
    const userLogin = await post(
      '/v1/auth/login',
      { email: userEmail, password: PASSWORD },
      { 'x-forwarded-for': '192.0.2.11' },
    );
    const userCookie = userLogin.headers.get('set-cookie')!.split(';')[0];
    expect((await fetch(`${base}/admin/users`, { headers: { cookie: userCookie } })).status).toBe(
      403,
    );
    expect((await fetch(`${base}/admin/users`)).status).toBe(401);
  });

  it('demo-seed prints a working API key', async () => {
    const email = uniqueEmail('demo');
    const res = await runNode(
      'dist/src/cli.js',
      [
        'demo-seed',
        '--email',
        email,
        '--password',
        PASSWORD,
        '--org',
        `demo-${randomBytes(3).toString('hex')}`,
      ],
      env,
    );
    expect(res.code).toBe(0);
    const seeded = JSON.parse(res.output.trim().split('\n').at(-1)!) as {
      apiKey: string;
      orgId: string;
    };
    const me = await fetch(`${base}/v1/me`, {
      headers: { authorization: `Bearer ${seeded.apiKey}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { orgs: { id: string }[] }).orgs[0].id).toBe(seeded.orgId);
  });

  it('migrate is idempotent', async () => {
    const res = await runNode('dist/src/cli.js', ['migrate'], env);
    expect(res).toEqual({ code: 0, output: 'database is up to date\n' });
  });

  it.each([
    ['PORT', 'not-a-port'],
    ['DATABASE_URL', 'mysql://nope'],
    ['COOKIE_SECURE', 'maybe'],
    ['PUBLIC_URL', 'ftp://x'],
  ])('refuses to start with a bad %s, naming the key but not the value', async (key, value) => {
    const res = await runNode('dist/src/main.js', [], { ...env, [key]: value });
    expect(res.code).toBe(1);
    expect(res.output).toContain(key);
    expect(res.output).not.toContain(value);
  });

  it('the CLI explains its usage and exits 2 on unknown commands', async () => {
    const res = await runNode('dist/src/cli.js', ['frobnicate'], env);
    expect(res.code).toBe(2);
    expect(res.output).toContain('unknown command "frobnicate"');
    expect(res.output).toContain('create-admin');
  });
});
