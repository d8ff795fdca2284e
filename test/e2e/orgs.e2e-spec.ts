import { expectProblem, Harness, uniqueEmail, uniqueSlug } from '../helpers/harness';
import { tokenFrom } from '../helpers/smtp-sink';

describe('orgs: roles, members, invitations', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('creates an org with its creator as owner and refuses taken, reserved and malformed slugs', async () => {
    const { agent } = await h.verifiedUser();
    const slug = uniqueSlug('acme');
    const org = await h.org(agent, slug);
    expect((await agent.get('/v1/orgs').expect(200)).body).toEqual([
      expect.objectContaining({ id: org.id, slug, role: 'owner' }),
    ]);
    const taken = await agent.post('/v1/orgs').send({ name: 'dup', slug }).expect(409);
    expectProblem(taken.body, 'slug-taken');
    const reserved = await agent.post('/v1/orgs').send({ name: 'x', slug: 'admin' }).expect(409);
    expectProblem(reserved.body, 'slug-taken');
    for (const bad of [
      'ab',
      'Upper',
      '-lead',
      'trail-',
      'dou--ble',
      'sp ace',
      'a'.repeat(49),
      'ünï',
    ]) {
      const res = await agent.post('/v1/orgs').send({ name: 'x', slug: bad }).expect(400);
      expectProblem(res.body, 'validation-error');
      expect(res.body.errors[0].field).toBe('slug');
    }
    const [{ n }] = await h.db.query(
      'SELECT count(*)::int AS n FROM orgs WHERE created_by_user_id = (SELECT created_by_user_id FROM orgs WHERE id = $1)',
      [org.id],
    );
    expect(n).toBe(1);
  });

  it('answers 404 for another org, whether it exists or not, and for a malformed id', async () => {
    const alice = await h.verifiedUser();
    const bob = await h.verifiedUser();
    const aliceOrg = await h.org(alice.agent);
    const existing = await bob.agent.get(`/v1/orgs/${aliceOrg.id}`).expect(404);
    const missing = await bob.agent
      .get('/v1/orgs/00000000-0000-4000-8000-000000000000')
      .expect(404);
    expect({ ...existing.body, instance: 0, requestId: 0 }).toEqual({
      ...missing.body,
      instance: 0,
      requestId: 0,
    });
    await bob.agent.get(`/v1/orgs/${aliceOrg.id}/members`).expect(404);
    await bob.agent
      .post(`/v1/orgs/${aliceOrg.id}/invitations`)
      .send({ email: bob.email, role: 'owner' })
      .expect(404);
    await bob.agent.get('/v1/orgs/not-a-uuid').expect(404);
    // A key of Bob's own org cannot reach Alice's org either.
    const bobOrg = await h.org(bob.agent);
    const key = await h.apiKey(bob.agent, bobOrg.id, ['org:read']);
    await h
      .http()
      .get(`/v1/orgs/${aliceOrg.id}`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(404);
    await h
      .http()
      .get(`/v1/orgs/${bobOrg.id}`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(200);
  });

  it('invites by mail; only the invited, verified address can accept, once', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const invitee = await h.verifiedUser();
    const stranger = await h.verifiedUser();

    const inv = await owner.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: invitee.email.toUpperCase(), role: 'member' })
      .expect(201);
    expect(inv.body).toMatchObject({ email: invitee.email, role: 'member' });
    expect(JSON.stringify(inv.body)).not.toMatch(/token/i);
    const token = tokenFrom(
      await h.smtp.waitFor(invitee.email, (m) => m.subject.includes('invited')),
    );
    expect((await owner.agent.get(`/v1/orgs/${org.id}/invitations`).expect(200)).body).toHaveLength(
      1,
    );

    const wrongUser = await stranger.agent
      .post('/v1/invitations/accept')
      .send({ token })
      .expect(403);
    expectProblem(wrongUser.body, 'forbidden');
    await invitee.agent
      .post('/v1/invitations/accept')
      .send({ token })
      .expect(201, { orgId: org.id, role: 'member' });
    const reused = await invitee.agent.post('/v1/invitations/accept').send({ token }).expect(410);
    expectProblem(reused.body, 'token-used');
    const bogus = await invitee.agent
      .post('/v1/invitations/accept')
      .send({ token: 'x'.repeat(43) })
      .expect(400);
    expectProblem(bogus.body, 'token-invalid');

    const members = (await invitee.agent.get(`/v1/orgs/${org.id}/members`).expect(200)).body;
    expect(members.map((m: { email: string; role: string }) => [m.email, m.role]).sort()).toEqual(
      [
        [owner.email, 'owner'],
        [invitee.email, 'member'],
      ].sort(),
    );
    const again = await owner.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: invitee.email, role: 'admin' })
      .expect(409);
    expectProblem(again.body, 'already-member');
    expect(await h.auditActions(org.id)).toEqual(['org.created', 'member.invited', 'member.added']);
  });

  it('withdraws an invitation and refuses its link afterwards', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const invitee = await h.verifiedUser();
    const inv = await owner.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: invitee.email, role: 'auditor' })
      .expect(201);
    const token = tokenFrom(
      await h.smtp.waitFor(invitee.email, (m) => m.subject.includes('invited')),
    );
    await owner.agent.delete(`/v1/orgs/${org.id}/invitations/${inv.body.id}`).expect(204);
    const res = await invitee.agent.post('/v1/invitations/accept').send({ token }).expect(410);
    expectProblem(res.body, 'token-expired');
  });

  it('enforces role scopes: member cannot invite; auditor can read; admin cannot touch owners', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const member = await h.verifiedUser();
    const auditor = await h.verifiedUser();
    const admin = await h.verifiedUser();
    await h.addMember(owner.agent, org.id, member, 'member');
    await h.addMember(owner.agent, org.id, auditor, 'auditor');
    await h.addMember(owner.agent, org.id, admin, 'admin');

    const denied = await member.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: uniqueEmail(), role: 'member' })
      .expect(403);
    expectProblem(denied.body, 'insufficient-scope');
    expect(denied.body.missingScopes).toEqual(['members:write']);
    await auditor.agent.get(`/v1/orgs/${org.id}`).expect(200);
    await auditor.agent
      .patch(`/v1/orgs/${org.id}/members/${member.userId}`)
      .send({ role: 'admin' })
      .expect(403);

    const adminToOwner = await admin.agent
      .patch(`/v1/orgs/${org.id}/members/${owner.userId}`)
      .send({ role: 'member' })
      .expect(403);
    expectProblem(adminToOwner.body, 'forbidden');
    await admin.agent
      .patch(`/v1/orgs/${org.id}/members/${member.userId}`)
      .send({ role: 'owner' })
      .expect(403);
    await admin.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: uniqueEmail(), role: 'owner' })
      .expect(403);
    const promoted = await admin.agent
      .patch(`/v1/orgs/${org.id}/members/${member.userId}`)
      .send({ role: 'auditor' })
      .expect(200);
    expect(promoted.body).toMatchObject({ userId: member.userId, role: 'auditor' });
    const badRole = await owner.agent
      .patch(`/v1/orgs/${org.id}/members/${member.userId}`)
      .send({ role: 'god' })
      .expect(400);
    expectProblem(badRole.body, 'validation-error');
  });

  it('keeps the last owner: demotion and removal answer 409 and change nothing', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const demote = await owner.agent
      .patch(`/v1/orgs/${org.id}/members/${owner.userId}`)
      .send({ role: 'admin' })
      .expect(409);
    expectProblem(demote.body, 'last-owner');
    const remove = await owner.agent
      .delete(`/v1/orgs/${org.id}/members/${owner.userId}`)
      .expect(409);
    expectProblem(remove.body, 'last-owner');
    const [row] = await h.db.query(
      'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
      [org.id, owner.userId],
    );
    expect(row.role).toBe('owner');

    // With a second owner, the first may step down.
    const second = await h.verifiedUser();
    await h.addMember(owner.agent, org.id, second, 'owner');
    await owner.agent
      .patch(`/v1/orgs/${org.id}/members/${owner.userId}`)
      .send({ role: 'admin' })
      .expect(200);
    await second.agent.delete(`/v1/orgs/${org.id}/members/${second.userId}`).expect(409);
  });

  it('serialises concurrent demotions so an org never ends without an owner', async () => {
    const a = await h.verifiedUser();
    const org = await h.org(a.agent);
    const b = await h.verifiedUser();
    await h.addMember(a.agent, org.id, b, 'owner');
    const results = await Promise.all([
      a.agent.patch(`/v1/orgs/${org.id}/members/${a.userId}`).send({ role: 'member' }),
      b.agent.patch(`/v1/orgs/${org.id}/members/${b.userId}`).send({ role: 'member' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM memberships WHERE org_id = $1 AND role = 'owner'`,
      [org.id],
    );
    expect(n).toBe(1);
  });

  it('removing a member revokes their keys in that org; a member may leave on their own', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, org.id, member, 'member');
    const key = await h.apiKey(member.agent, org.id, ['tunnels:connect']);
    await h.http().get('/v1/me').set('Authorization', `Bearer ${key.key}`).expect(200);
    await owner.agent.delete(`/v1/orgs/${org.id}/members/${member.userId}`).expect(204);
    const refused = await h
      .http()
      .get('/v1/me')
      .set('Authorization', `Bearer ${key.key}`)
      .expect(401);
    expectProblem(refused.body, 'invalid-api-key');
    await member.agent.get(`/v1/orgs/${org.id}`).expect(404);

    const leaver = await h.verifiedUser();
    await h.addMember(owner.agent, org.id, leaver, 'auditor');
    await leaver.agent.delete(`/v1/orgs/${org.id}/members/${leaver.userId}`).expect(204);
    expect(await h.auditActions(org.id)).toEqual(
      expect.arrayContaining(['member.removed', 'member.left']),
    );
    const [removed] = await h.db.query(
      `SELECT metadata FROM audit_events WHERE org_id = $1 AND action = 'member.removed'`,
      [org.id],
    );
    expect(removed.metadata).toEqual({ role: 'member', apiKeysRevoked: 1 });
  });

  it('an API key cannot create orgs', async () => {
    const { agent } = await h.verifiedUser();
    const org = await h.org(agent);
    const key = await h.apiKey(agent, org.id, ['org:read', 'org:write']);
    const res = await h
      .http()
      .post('/v1/orgs')
      .set('Authorization', `Bearer ${key.key}`)
      .send({ name: 'x', slug: uniqueSlug() })
      .expect(403);
    expectProblem(res.body, 'forbidden');
  });
});
