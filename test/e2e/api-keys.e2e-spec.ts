import { generateApiKey } from '../../src/identity/api-key-token';
import { expectProblem, Harness, uniqueEmail } from '../helpers/harness';

describe('API keys: format, scopes, lifecycle', () => {
  let h: Harness;
  let owner: Awaited<ReturnType<Harness['verifiedUser']>>;
  let orgId: string;
  let fullKey: { id: string; key: string };

  beforeAll(async () => {
    h = await Harness.start();
    owner = await h.verifiedUser();
    orgId = (await h.org(owner.agent)).id;
    fullKey = await h.apiKey(owner.agent, orgId, ['org:read', 'keys:write', 'members:write']);
  });
  afterAll(async () => {
    await h.stop();
  });

  function flipChecksum(key: string): string {
    const last = key.at(-1)!;
    return key.slice(0, -1) + (last === 'a' ? 'b' : 'a');
  }

  const cases: [string, () => Promise<string | undefined>, RegExp, string][] = [
    ['no credential at all', async () => undefined, /Log in or send an API key/, 'unauthenticated'],
    ['a Basic scheme', async () => 'Basic dXNlcjpwYXNz', /Bearer/, 'unauthenticated'],
    ['an empty bearer', async () => 'Bearer ', /Bearer/, 'unauthenticated'],
    ['a garbled key', async () => 'Bearer it_short', /malformed/, 'invalid-api-key'],
    [
      'a key with another prefix',
      async () => `Bearer ghp_${'a'.repeat(50)}`,
      /malformed/,
      'invalid-api-key',
    ],
    [
      'a key with a wrong checksum (typo)',
      async () => `Bearer ${flipChecksum(fullKey.key)}`,
      /checksum/,
      'invalid-api-key',
    ],
    [
      'a well-formed key nobody issued',
      async () => `Bearer ${generateApiKey().token}`,
      /not known/,
      'invalid-api-key',
    ],
    [
      'an issued key with its secret swapped (same public id)',
      async () => {
        const other = generateApiKey().token;
        const forged = fullKey.key.slice(0, 15) + other.slice(15, 47);
        const { crc32 } = await import('../../src/identity/api-key-token');
        const body = forged.slice(3);
        const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
        let n = crc32(body);
        let sum = '';
        for (let i = 0; i < 6; i++) {
          sum = alphabet[n % 62] + sum;
          n = Math.floor(n / 62);
        }
        return `Bearer ${forged}${sum}`;
      },
      /not known/,
      'invalid-api-key',
    ],
  ];

  it.each(cases)('refuses %s with 401 problem+json', async (_name, header, detail, kind) => {
    const value = await header();
    const req = h.http().get('/v1/me');
    if (value !== undefined) req.set('Authorization', value);
    const res = await req.expect(401).expect('Content-Type', /application\/problem\+json/);
    expectProblem(res.body, kind);
    expect(res.body.detail).toMatch(detail);
  });

  it('refuses an address after 50 invalid keys (429 with Retry-After), even with a valid key; other addresses are unaffected', async () => {
    const ip = '203.0.113.201';
    for (let i = 0; i < 50; i++) {
      await h
        .http()
        .get('/v1/me')
        .set('X-Forwarded-For', ip)
        .set('Authorization', `Bearer ${generateApiKey().token}`)
        .expect(401);
    }
    const locked = await h
      .http()
      .get('/v1/me')
      .set('X-Forwarded-For', ip)
      .set('Authorization', `Bearer ${fullKey.key}`)
      .expect(429);
    expectProblem(locked.body, 'too-many-requests');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    await h
      .http()
      .get('/v1/me')
      .set('X-Forwarded-For', '203.0.113.202')
      .set('Authorization', `Bearer ${fullKey.key}`)
      .expect(200);
  });

  it('refuses an expired key and records lastUsedAt/lastUsedIp for a live one', async () => {
    const key = await h.apiKey(owner.agent, orgId, ['org:read']);
    await h
      .http()
      .get('/v1/me')
      .set('Authorization', `Bearer ${key.key}`)
      .set('X-Forwarded-For', '203.0.113.9')
      .expect(200);
    for (let i = 0; i < 50; i++) {
      const [row] = await h.db.query(
        'SELECT last_used_at, last_used_ip FROM api_keys WHERE id = $1',
        [key.id],
      );
      if (row.last_used_at) {
        expect(row.last_used_ip).toBe('203.0.113.9');
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const listed = (await owner.agent.get('/v1/api-keys').expect(200)).body.find(
      (k: { id: string }) => k.id === key.id,
    );
    expect(listed.lastUsedAt).not.toBeNull();
    await h.db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [
      key.id,
    ]);
    const res = await h.http().get('/v1/me').set('Authorization', `Bearer ${key.key}`).expect(401);
    expect(res.body.detail).toMatch(/expired/);
  });

  it('never grants a key more than its creator holds (403 scope-escalation), nothing written', async () => {
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, orgId, member, 'member');
    const before = (
      await h.db.query('SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1', [orgId])
    )[0].n;
    const res = await member.agent
      .post('/v1/api-keys')
      .send({ name: 'x', orgId, scopes: ['tunnels:connect', 'members:write'] })
      .expect(403);
    expectProblem(res.body, 'scope-escalation');
    expect(res.body.excessScopes).toEqual(['members:write']);
    // A key can only mint keys within its own scopes too.
    const narrow = await h.apiKey(owner.agent, orgId, ['keys:write', 'org:read']);
    const viaKey = await h
      .http()
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${narrow.key}`)
      .send({ name: 'y', orgId, scopes: ['org:read', 'audit:read'] })
      .expect(403);
    expectProblem(viaKey.body, 'scope-escalation');
    await h
      .http()
      .post('/v1/api-keys')
      .set('Authorization', `Bearer ${narrow.key}`)
      .send({ name: 'z', orgId, scopes: ['org:read'] })
      .expect(201);
    const after = (
      await h.db.query('SELECT count(*)::int AS n FROM api_keys WHERE org_id = $1', [orgId])
    )[0].n;
    expect(after).toBe(before + 2);
  });

  it('narrows a key to its scopes and to the member’s current role', async () => {
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, orgId, member, 'admin');
    const key = await h.apiKey(member.agent, orgId, ['org:read', 'members:write']);
    await h
      .http()
      .get(`/v1/orgs/${orgId}/invitations`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(200);
    await owner.agent
      .patch(`/v1/orgs/${orgId}/members/${member.userId}`)
      .send({ role: 'auditor' })
      .expect(200);
    const res = await h
      .http()
      .get(`/v1/orgs/${orgId}/invitations`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(403);
    expectProblem(res.body, 'insufficient-scope');
    const readOnly = await h.apiKey(owner.agent, orgId, ['org:read']);
    await h
      .http()
      .post(`/v1/orgs/${orgId}/invitations`)
      .set('Authorization', `Bearer ${readOnly.key}`)
      .send({ email: uniqueEmail(), role: 'member' })
      .expect(403);
  });

  it('validates creation input as a table', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ orgId, scopes: ['org:read'] }, 'name'],
      [{ name: '', orgId, scopes: ['org:read'] }, 'name'],
      [{ name: 'x'.repeat(101), orgId, scopes: ['org:read'] }, 'name'],
      [{ name: 'a\u0000b', orgId, scopes: ['org:read'] }, 'name'],
      [{ name: 'x', orgId: 'nope', scopes: ['org:read'] }, 'orgId'],
      [{ name: 'x', orgId, scopes: [] }, 'scopes'],
      [{ name: 'x', orgId, scopes: ['root'] }, 'scopes'],
      [{ name: 'x', orgId, scopes: 'org:read' }, 'scopes'],
      [{ name: 'x', orgId, scopes: ['org:read', 'org:read'] }, 'scopes'],
      [{ name: 'x', orgId, scopes: ['org:read'], expiresAt: 'tomorrow' }, 'expiresAt'],
      [{ name: 'x', orgId, scopes: ['org:read'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
      [
        { name: 'x', orgId, scopes: ['org:read'], createdByUserId: owner.userId },
        'createdByUserId',
      ],
      [{ name: 42, orgId, scopes: ['org:read'] }, 'name'],
    ];
    for (const [body, field] of bad) {
      const res = await owner.agent.post('/v1/api-keys').send(body);
      expect([res.status, body]).toEqual([400, body]);
      expectProblem(res.body, 'validation-error');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });

  it('creates a key with an expiry and answers 404 for an org the caller is not in', async () => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const res = await owner.agent
      .post('/v1/api-keys')
      .send({ name: 'exp', orgId, scopes: ['org:read'], expiresAt })
      .expect(201);
    expect(res.body.expiresAt).toBe(expiresAt);
    const stranger = await h.verifiedUser();
    const cross = await stranger.agent
      .post('/v1/api-keys')
      .send({ name: 'x', orgId, scopes: ['org:read'] })
      .expect(404);
    expectProblem(cross.body, 'not-found');
  });

  it('lets the creator or an org admin revoke, and answers 404 to anyone else', async () => {
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, orgId, member, 'member');
    const key = await h.apiKey(member.agent, orgId, ['tunnels:connect']);
    const stranger = await h.verifiedUser();
    await stranger.agent.delete(`/v1/api-keys/${key.id}`).expect(404);
    await stranger.agent.delete('/v1/api-keys/not-a-uuid').expect(404);
    const orgKeys = (await owner.agent.get(`/v1/orgs/${orgId}/api-keys`).expect(200)).body;
    expect(orgKeys.map((k: { id: string }) => k.id)).toContain(key.id);
    await member.agent.get(`/v1/orgs/${orgId}/api-keys`).expect(403);
    await owner.agent.delete(`/v1/api-keys/${key.id}`).expect(204);
    await owner.agent.delete(`/v1/api-keys/${key.id}`).expect(204);
    const events = await h.db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'api_key.revoked' AND target_id = $1`,
      [key.id],
    );
    expect(events[0].n).toBe(1);
  });
});
