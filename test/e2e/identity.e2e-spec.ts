import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { RedisService } from '../../src/redis/redis.service';
import {
  expectProblem,
  Harness,
  nextIp,
  PASSWORD,
  uniqueEmail,
  uniqueSlug,
} from '../helpers/harness';
import { tokenFrom } from '../helpers/smtp-sink';

describe('identity: signup, email verification, sessions, API keys', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('walks the whole path: signup → mail → verify → login → org → key → /v1/me → revoke → refused', async () => {
    const email = uniqueEmail('path');
    const agent = h.agent();
    const signup = await agent
      .post('/v1/auth/signup')
      .send({ email: `  ${email.toUpperCase()} `, password: PASSWORD });
    expect(signup.status).toBe(201);

    const mail = await h.smtp.waitFor(email, (m) => m.subject.includes('Verify'));
    expect(mail.text).toContain('http://app.instatunnel.test/verify-email?token=');
    const token = tokenFrom(mail);
    const [stored] = await h.db.query(
      'SELECT t.token_hash FROM email_verification_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1',
      [email],
    );
    expect(stored.token_hash).not.toContain(token);
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);

    await agent
      .post('/v1/auth/verify-email')
      .send({ token })
      .expect(200, { verified: true, email });

    const login = await agent
      .post('/v1/auth/login')
      .send({ email, password: PASSWORD })
      .expect(200);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(/it_session=[A-Za-z0-9_-]{43}/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);

    const org = await agent
      .post('/v1/orgs')
      .send({ name: 'Path Org', slug: uniqueSlug('path') })
      .expect(201);
    expect(org.body).toMatchObject({
      id: expect.any(String),
      slug: expect.any(String),
      role: 'owner',
    });

    const created = await agent
      .post('/v1/api-keys')
      .send({ name: 'ci', orgId: org.body.id, scopes: ['tunnels:connect', 'org:read'] })
      .expect(201);
    expect(created.body.key).toMatch(/^it_[0-9A-Za-z]{50}$/);
    expect(created.body.scopes).toEqual(['org:read', 'tunnels:connect']);

    const me = await h
      .http()
      .get('/v1/me')
      .set('Authorization', `Bearer ${created.body.key}`)
      .expect(200);
    expect(me.body).toMatchObject({
      email,
      emailVerified: true,
      authenticatedWith: 'api_key',
      apiKey: { id: created.body.id, orgId: org.body.id },
      orgs: [{ id: org.body.id, role: 'owner' }],
    });

    const listed = await agent.get('/v1/api-keys').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(listed.body[0]).toMatchObject({
      id: created.body.id,
      prefix: created.body.key.slice(0, 15),
    });

    await agent.delete(`/v1/api-keys/${created.body.id}`).expect(204);
    const refused = await h
      .http()
      .get('/v1/me')
      .set('Authorization', `Bearer ${created.body.key}`)
      .expect(401);
    expectProblem(refused.body, 'invalid-api-key');
    expect(refused.body.detail).toMatch(/revoked/);

    const userId = me.body.id as string;
    expect(await h.auditActions(null)).toEqual(
      expect.arrayContaining(['user.signed_up', 'user.email_verified', 'user.logged_in']),
    );
    expect(await h.auditActions(org.body.id)).toEqual([
      'org.created',
      'api_key.created',
      'api_key.revoked',
    ]);
    const [signedUp] = await h.db.query(
      `SELECT actor_type, actor_id, ip, request_id FROM audit_events WHERE action = 'user.signed_up' AND target_id = $1`,
      [userId],
    );
    expect(signedUp).toMatchObject({ actor_type: 'user', actor_id: userId });
    expect(signedUp.ip).toMatch(/^198\.51\./);
    expect(signedUp.request_id).toEqual(expect.any(String));
  });

  it('answers a second signup for a known address the same way and mails its owner instead', async () => {
    const { email } = await h.verifiedUser();
    const before = h.smtp.mailsTo(email).length;
    const res = await h
      .agent()
      .post('/v1/auth/signup')
      .send({ email, password: 'another password 123' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message: 'If the address can receive mail, a message is on its way.',
    });
    const mail = await h.smtp.waitFor(email, (m) => m.subject.includes('already have'));
    expect(mail.text).not.toMatch(/token=/);
    expect(h.smtp.mailsTo(email).length).toBe(before + 1);
    const [{ count }] = await h.db.query(
      'SELECT count(*)::int AS count FROM users WHERE email = $1',
      [email],
    );
    expect(count).toBe(1);
  });

  it('builds mail links from PUBLIC_URL, never from a forged Host header', async () => {
    const email = uniqueEmail('host');
    await h
      .agent()
      .post('/v1/auth/signup')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .send({ email, password: PASSWORD })
      .expect(201);
    const mail = await h.smtp.waitFor(email);
    expect(mail.text).not.toContain('evil.example');
    expect(mail.html).not.toContain('evil.example');
    expect(mail.text).toContain('http://app.instatunnel.test/');
  });

  describe('verification tokens', () => {
    it('refuses reuse (410), garbage (400) and expired tokens (410)', async () => {
      const email = uniqueEmail('tok');
      await h.agent().post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
      const token = tokenFrom(await h.smtp.waitFor(email));
      await h.http().post('/v1/auth/verify-email').send({ token }).expect(200);
      const reused = await h.http().post('/v1/auth/verify-email').send({ token }).expect(410);
      expectProblem(reused.body, 'token-used');
      const garbage = await h
        .http()
        .post('/v1/auth/verify-email')
        .send({ token: 'not-a-real-token' })
        .expect(400);
      expectProblem(garbage.body, 'token-invalid');

      const late = uniqueEmail('late');
      await h.agent().post('/v1/auth/signup').send({ email: late, password: PASSWORD }).expect(201);
      const lateToken = tokenFrom(await h.smtp.waitFor(late));
      await h.db.query(
        `UPDATE email_verification_tokens SET expires_at = now() - interval '1 second'
          WHERE user_id = (SELECT id FROM users WHERE email = $1)`,
        [late],
      );
      const expired = await h
        .http()
        .post('/v1/auth/verify-email')
        .send({ token: lateToken })
        .expect(410);
      expectProblem(expired.body, 'token-expired');
      const [user] = await h.db.query('SELECT email_verified_at FROM users WHERE email = $1', [
        late,
      ]);
      expect(user.email_verified_at).toBeNull();
    });

    it('resends a fresh token and rate-limits the resend per address', async () => {
      const email = uniqueEmail('resend');
      await h.agent().post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
      await h.smtp.waitFor(email);
      const client = h.agent();
      for (let i = 0; i < 3; i++) {
        await client.post('/v1/auth/resend-verification').send({ email }).expect(202);
      }
      await h.smtp.waitFor(email, () => h.smtp.mailsTo(email).length >= 4);
      const limited = await client.post('/v1/auth/resend-verification').send({ email }).expect(429);
      expectProblem(limited.body, 'too-many-requests');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // An unknown address gets the same answer and no mail.
      const ghost = uniqueEmail('ghost');
      await h.agent().post('/v1/auth/resend-verification').send({ email: ghost }).expect(202);
      await new Promise((r) => setTimeout(r, 300));
      expect(h.smtp.mailsTo(ghost)).toHaveLength(0);
      // The newest token works.
      const newest = h.smtp.mailsTo(email).at(-1)!;
      await h
        .http()
        .post('/v1/auth/verify-email')
        .send({ token: tokenFrom(newest) })
        .expect(200);
    });
  });

  describe('sessions', () => {
    it('lets an unverified user log in but not create orgs or keys (403 email-not-verified)', async () => {
      const email = uniqueEmail('unverified');
      const agent = h.agent();
      await agent.post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
      const me = await agent.post('/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(me.body.emailVerified).toBe(false);
      const org = await agent.post('/v1/orgs').send({ name: 'x', slug: uniqueSlug() }).expect(403);
      expectProblem(org.body, 'email-not-verified');
      const key = await agent
        .post('/v1/api-keys')
        .send({ name: 'x', orgId: '00000000-0000-4000-8000-000000000000', scopes: ['org:read'] })
        .expect(403);
      expectProblem(key.body, 'email-not-verified');
    });

    it('rotates the session on login and ends it on logout', async () => {
      const { agent, email } = await h.verifiedUser();
      const first = await agent.get('/v1/me').expect(200);
      expect(first.body.authenticatedWith).toBe('session');
      const oldCookie = (
        await agent.post('/v1/auth/login').send({ email, password: PASSWORD }).expect(200)
      ).headers['set-cookie'];
      const oldValue = /it_session=([^;]+)/.exec(String(oldCookie))![1];
      const relogin = await agent
        .post('/v1/auth/login')
        .send({ email, password: PASSWORD })
        .expect(200);
      const newValue = /it_session=([^;]+)/.exec(String(relogin.headers['set-cookie']))![1];
      expect(newValue).not.toBe(oldValue);
      const stale = await h
        .http()
        .get('/v1/me')
        .set('Cookie', `it_session=${oldValue}`)
        .expect(401);
      expectProblem(stale.body, 'session-expired');
      await agent.post('/v1/auth/logout').expect(204);
      await h.http().get('/v1/me').set('Cookie', `it_session=${newValue}`).expect(401);
    });

    it('expires a session whose absolute lifetime is over, even if it was used recently', async () => {
      const { agent, email } = await h.verifiedUser();
      const login = await agent
        .post('/v1/auth/login')
        .send({ email, password: PASSWORD })
        .expect(200);
      const cookie = /it_session=([^;]+)/.exec(String(login.headers['set-cookie']))![1];
      await agent.get('/v1/me').expect(200);
      const redis = h.app.get(RedisService);
      const key = redis.key('sess', createHash('sha256').update(cookie).digest('hex'));
      const stored = JSON.parse((await redis.client.get(key))!);
      stored.absoluteExpiresAt = Date.now() - 1;
      await redis.client.set(key, JSON.stringify(stored), 'KEEPTTL');
      const res = await agent.get('/v1/me').expect(401);
      expectProblem(res.body, 'session-expired');
      expect(await redis.client.exists(key)).toBe(0);
    });

    it('backs off repeated failures per account with 429 and Retry-After, even for the right password', async () => {
      const { email } = await h.verifiedUser();
      const attacker = h.agent();
      for (let i = 0; i < 5; i++) {
        const r = await attacker
          .post('/v1/auth/login')
          .send({ email, password: `wrong password ${i}` })
          .expect(401);
        expectProblem(r.body, 'invalid-credentials');
      }
      const locked = await h
        .agent()
        .post('/v1/auth/login')
        .send({ email, password: PASSWORD })
        .expect(429);
      expectProblem(locked.body, 'too-many-requests');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(60);
      const failures = await h.db.query(
        `SELECT count(*)::int AS n FROM audit_events WHERE action = 'user.login_failed'
           AND target_id = (SELECT id::text FROM users WHERE email = $1)`,
        [email],
      );
      expect(failures[0].n).toBe(5);
    });

    it('backs off per IP across many accounts', async () => {
      const ip = nextIp();
      for (let i = 0; i < 30; i++) {
        await h
          .http()
          .post('/v1/auth/login')
          .set('X-Forwarded-For', ip)
          .send({ email: uniqueEmail('spray'), password: 'guess guess guess' })
          .expect(401);
      }
      const res = await h
        .http()
        .post('/v1/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: uniqueEmail('spray'), password: 'guess guess guess' })
        .expect(429);
      expectProblem(res.body, 'too-many-requests');
      // Another client address is unaffected.
      await h
        .http()
        .post('/v1/auth/login')
        .set('X-Forwarded-For', nextIp())
        .send({ email: uniqueEmail('spray'), password: 'guess guess guess' })
        .expect(401);
    });

    it('counts an IPv6 client by its /64, so rotating addresses inside it does not reset the limit', async () => {
      const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
      for (let i = 0; i < 30; i++) {
        await h
          .http()
          .post('/v1/auth/login')
          .set('X-Forwarded-For', `${prefix}::${(i + 1).toString(16)}`)
          .send({ email: uniqueEmail('spray6'), password: 'guess guess guess' })
          .expect(401);
      }
      const res = await h
        .http()
        .post('/v1/auth/login')
        .set('X-Forwarded-For', `${prefix}:dead:beef:1:2`)
        .send({ email: uniqueEmail('spray6'), password: 'guess guess guess' })
        .expect(429);
      expectProblem(res.body, 'too-many-requests');
      // The neighbouring /64 is another client.
      const [a, b, c, d] = prefix.split(':');
      const next = `${a}:${b}:${c}:${(parseInt(d, 16) ^ 1).toString(16)}::1`;
      await h
        .http()
        .post('/v1/auth/login')
        .set('X-Forwarded-For', next)
        .send({ email: uniqueEmail('spray6'), password: 'guess guess guess' })
        .expect(401);
    });

    it('gives the same answer for an unknown address and a wrong password', async () => {
      const { email } = await h.verifiedUser();
      const a = await h
        .agent()
        .post('/v1/auth/login')
        .send({ email, password: 'not the password' })
        .expect(401);
      const b = await h
        .agent()
        .post('/v1/auth/login')
        .send({ email: uniqueEmail('nobody'), password: 'not the password' })
        .expect(401);
      expect({ ...a.body, requestId: 0 }).toEqual({ ...b.body, requestId: 0 });
    });
  });
});
