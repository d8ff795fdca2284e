import { Harness, PASSWORD, uniqueEmail } from '../helpers/harness';
import { tokenFrom } from '../helpers/smtp-sink';

describe('pages opened from mail links', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('GET /verify-email only shows a button (a link scanner cannot consume the token); the form POST verifies', async () => {
    const email = uniqueEmail('page');
    await h.agent().post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
    const token = tokenFrom(await h.smtp.waitFor(email));
    const shown = await h
      .http()
      .get(`/verify-email?token=${token}`)
      .expect(200)
      .expect('Content-Type', /text\/html/);
    expect(shown.text).toContain(`value="${token}"`);
    expect(shown.text).not.toMatch(/<script/i);
    const [before] = await h.db.query('SELECT email_verified_at FROM users WHERE email = $1', [
      email,
    ]);
    expect(before.email_verified_at).toBeNull();

    const done = await h.http().post('/verify-email').type('form').send({ token }).expect(200);
    expect(done.text).toContain(`${email} is verified`);
    const again = await h.http().post('/verify-email').type('form').send({ token }).expect(410);
    expect(again.text).toContain('already used');
  });

  it('escapes whatever arrives in the query string', async () => {
    const res = await h
      .http()
      .get('/verify-email')
      .query({ token: '"><script>alert(1)</script>' })
      .expect(200);
    expect(res.text).not.toContain('<script>alert(1)</script>');
    expect(res.text).toContain('&quot;&gt;&lt;script&gt;');
  });

  it('accepts an invitation from the page, logging in on the way; a wrong password changes nothing', async () => {
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    const invitee = await h.verifiedUser();
    await owner.agent
      .post(`/v1/orgs/${org.id}/invitations`)
      .send({ email: invitee.email, role: 'auditor' })
      .expect(201);
    const token = tokenFrom(
      await h.smtp.waitFor(invitee.email, (m) => m.subject.includes('invited')),
    );

    const form = await h.http().get(`/invitations/accept?token=${token}`).expect(200);
    expect(form.text).toContain('name="password"');
    const browser = h.agent();
    const wrong = await browser
      .post('/invitations/accept')
      .type('form')
      .send({ token, email: invitee.email, password: 'wrong wrong wrong' })
      .expect(401);
    expect(wrong.text).toContain('Email or password is wrong');
    expect(
      await h.db.query('SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2', [
        org.id,
        invitee.userId,
      ]),
    ).toHaveLength(0);

    const ok = await browser
      .post('/invitations/accept')
      .type('form')
      .send({ token, email: invitee.email, password: PASSWORD })
      .expect(200);
    expect(ok.text).toContain('You joined the org as auditor');
    expect((await browser.get('/v1/me').expect(200)).body.orgs).toEqual([
      expect.objectContaining({ id: org.id, role: 'auditor' }),
    ]);
  });

  it('refuses form posts anywhere else (415)', async () => {
    await h.http().post('/v1/invitations/accept').type('form').send({ token: 'x' }).expect(415);
  });
});
