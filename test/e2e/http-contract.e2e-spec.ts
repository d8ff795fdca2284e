import { expectProblem, Harness, PASSWORD, uniqueEmail } from '../helpers/harness';

describe('HTTP contract: problem+json, request ids, limits, health, docs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ worker: false });
  });
  afterAll(async () => {
    await h.stop();
  });

  const signup = () => h.agent().post('/v1/auth/signup');

  it.each([
    ['malformed email', { email: 'not-an-email', password: PASSWORD }, 'email'],
    ['email with display name', { email: 'Bob <bob@example.com>', password: PASSWORD }, 'email'],
    ['overlong email', { email: `${'a'.repeat(250)}@example.com`, password: PASSWORD }, 'email'],
    ['short password', { email: uniqueEmail(), password: 'short' }, 'password'],
    ['overlong password', { email: uniqueEmail(), password: 'x'.repeat(257) }, 'password'],
    ['password of the wrong type', { email: uniqueEmail(), password: 123456789012 }, 'password'],
    ['missing fields', {}, 'email'],
    [
      'an unknown field (mass assignment)',
      { email: uniqueEmail(), password: PASSWORD, isPlatformAdmin: true },
      'isPlatformAdmin',
    ],
    ['a nested object for email', { email: { $ne: '' }, password: PASSWORD }, 'email'],
  ])('signup refuses %s with 400 listing the field', async (_name, body, field) => {
    const res = await signup()
      .send(body)
      .expect(400)
      .expect('Content-Type', /application\/problem\+json/);
    expectProblem(res.body, 'validation-error');
    expect(res.body).toMatchObject({
      status: 400,
      title: expect.any(String),
      instance: '/v1/auth/signup',
    });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('writes nothing for a refused signup', async () => {
    const email = uniqueEmail('refused');
    await signup().send({ email, password: PASSWORD, role: 'owner' }).expect(400);
    const [{ n }] = await h.db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [
      email,
    ]);
    expect(n).toBe(0);
  });

  it('answers 400 malformed-body for broken JSON and for a JSON scalar', async () => {
    const broken = await signup()
      .set('Content-Type', 'application/json')
      .send('{"email": ')
      .expect(400);
    expectProblem(broken.body, 'malformed-body');
    const scalar = await signup()
      .set('Content-Type', 'application/json')
      .send('"just a string"')
      .expect(400);
    expectProblem(scalar.body, 'malformed-body');
    const array = await signup().set('Content-Type', 'application/json').send('[1,2]').expect(400);
    expectProblem(array.body, 'validation-error');
  });

  it('answers 415 for a body that is not JSON (form posts cannot ride the session cookie)', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await signup()
        .set('Content-Type', type)
        .send('email=a@b.c&password=xxxxxxxxxxxxxx')
        .expect(415);
      expectProblem(res.body, 'unsupported-media-type');
    }
    const charset = await signup()
      .set('Content-Type', 'application/json; charset=utf-16')
      .send('{}')
      .expect(415);
    expectProblem(charset.body, 'unsupported-media-type');
  });

  it('answers 413 for an oversized body without reading it all', async () => {
    const big = JSON.stringify({ email: uniqueEmail(), password: 'x'.repeat(2 * 1024 * 1024) });
    const res = await signup().set('Content-Type', 'application/json').send(big).expect(413);
    expectProblem(res.body, 'payload-too-large');
  });

  it('answers 404 problem+json for unknown routes and methods', async () => {
    const res = await h
      .http()
      .get('/v1/nope')
      .expect(404)
      .expect('Content-Type', /application\/problem\+json/);
    expectProblem(res.body, 'not-found');
    await h.http().put('/v1/auth/signup').expect(404);
  });

  it('echoes a well-formed X-Request-Id, replaces a malformed one, and puts it in the problem', async () => {
    const ok = await h.http().get('/v1/me').set('X-Request-Id', 'trace-123.abc').expect(401);
    expect(ok.headers['x-request-id']).toBe('trace-123.abc');
    expect(ok.body.requestId).toBe('trace-123.abc');
    const bad = await h.http().get('/v1/me').set('X-Request-Id', 'x'.repeat(300)).expect(401);
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const none = await h.http().get('/healthz').expect(200);
    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers and hides the framework', async () => {
    const res = await h.http().get('/healthz').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('reports liveness and readiness of Postgres and Redis', async () => {
    await h.http().get('/healthz').expect(200, { status: 'ok' });
    const ready = await h.http().get('/readyz').expect(200);
    expect(ready.body.details).toMatchObject({
      postgres: { status: 'up' },
      redis: { status: 'up' },
    });
  });

  it('serves an OpenAPI document generated from the DTOs', async () => {
    const res = await h.http().get('/docs/openapi.json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/auth/signup',
        '/v1/auth/login',
        '/v1/me',
        '/v1/api-keys',
        '/v1/orgs',
        '/v1/orgs/{orgId}/members/{userId}',
        '/admin/users',
      ]),
    );
    expect(res.body.components.schemas.SignupDto.required).toEqual(['email', 'password']);
    expect(res.body.components.securitySchemes).toHaveProperty('api-key');
    await h.http().get('/docs').expect(200).expect('Content-Type', /html/);
  });
});
