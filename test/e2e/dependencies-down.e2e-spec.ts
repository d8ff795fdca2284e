import { PolicyRateLimiter } from '../../src/security/policy-rate-limiter';
import { expectProblem, Harness, PASSWORD, uniqueEmail } from '../helpers/harness';
import { freePort } from '../helpers/processes';
import { TestIdp } from '../helpers/saml-idp';

describe('when Redis is unreachable', () => {
  let h: Harness;
  let apiKey: string;
  let ssoSlug: string;
  let idp: TestIdp;
  beforeAll(async () => {
    const up = await Harness.start();
    const { agent } = await up.verifiedUser();
    const org = await up.org(agent);
    apiKey = (await up.apiKey(agent, org.id, ['org:read'])).key;
    idp = await TestIdp.create();
    ssoSlug = org.slug;
    await up.db.query(
      `INSERT INTO saml_connections (org_id, idp_entity_id, idp_sso_url, idp_certificates) VALUES ($1, $2, $3, $4)`,
      [org.id, idp.entityId, idp.ssoUrl, [idp.keys.certPem]],
    );
    await up.stop();
    const closed = await freePort();
    h = await Harness.start({ worker: false, env: { REDIS_URL: `redis://127.0.0.1:${closed}` } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('login fails closed with 503 problem+json (brute-force protection cannot be skipped)', async () => {
    const res = await h
      .agent()
      .post('/v1/auth/login')
      .send({ email: uniqueEmail(), password: PASSWORD })
      .expect(503);
    expectProblem(res.body, 'service-unavailable');
  });

  it('API keys fail closed too: their brute-force guard needs Redis, so 503 rather than unguarded', async () => {
    const res = await h.http().get('/v1/me').set('Authorization', `Bearer ${apiKey}`).expect(503);
    expectProblem(res.body, 'service-unavailable');
  });

  it('a session cookie cannot be checked: 503, not a silent logout', async () => {
    const res = await h
      .http()
      .get('/v1/me')
      .set('Cookie', `it_session=${'a'.repeat(43)}`)
      .expect(503);
    expectProblem(res.body, 'service-unavailable');
  });

  it('policy rate limits fail open for tunnel traffic (and count it)', async () => {
    const limiter = h.app.get(PolicyRateLimiter);
    const r = await limiter.rateLimit('any', 1, 1000);
    expect(r.allowed).toBe(true);
    expect(limiter.failOpenCount).toBeGreaterThan(0);
  });

  it('SAML login cannot start or finish without the shared request cache: 503, no session', async () => {
    const start = await h.agent().get(`/saml/${ssoSlug}/login`);
    expect(start.status).toBe(503);
    expectProblem(start.body, 'service-unavailable');
    const base = process.env.PUBLIC_URL ?? '';
    const xml = idp.buildResponse({
      inResponseTo: '_0123456789abcdef',
      destination: `${base}/saml/${ssoSlug}/acs`,
      audience: `${base}/saml/${ssoSlug}/metadata`,
      nameId: 'someone@example.com',
    });
    const acs = await h
      .agent()
      .post(`/saml/${ssoSlug}/acs`)
      .type('form')
      .send({ SAMLResponse: idp.encode(xml) });
    expect(acs.status).toBe(503);
    expectProblem(acs.body, 'service-unavailable');
    expect(acs.headers['set-cookie']).toBeUndefined();
  });

  it('readiness says which dependency is down', async () => {
    const res = await h.http().get('/readyz').expect(503);
    expectProblem(res.body, 'service-unavailable');
    expect(res.body.checks).toMatchObject({
      postgres: { status: 'up' },
      redis: { status: 'down' },
    });
  });

  it('signup answers 503 and writes no user it cannot send mail for', async () => {
    const email = uniqueEmail('noredis');
    const res = await h
      .agent()
      .post('/v1/auth/signup')
      .send({ email, password: PASSWORD })
      .expect(503);
    expectProblem(res.body, 'service-unavailable');
    expect(await h.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
  });
});
