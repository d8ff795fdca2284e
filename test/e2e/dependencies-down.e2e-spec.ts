import { PolicyRateLimiter } from '../../src/security/policy-rate-limiter';
import { expectProblem, Harness, PASSWORD, uniqueEmail } from '../helpers/harness';
import { freePort } from '../helpers/processes';

describe('when Redis is unreachable', () => {
  let h: Harness;
  let apiKey: string;
  beforeAll(async () => {
    const up = await Harness.start();
    const { agent } = await up.verifiedUser();
    apiKey = (await up.apiKey(agent, (await up.org(agent)).id, ['org:read'])).key;
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
