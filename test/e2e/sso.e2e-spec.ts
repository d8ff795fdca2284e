import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type TestAgent from 'supertest/lib/agent';
import { TestDnsServer } from '../helpers/dns-server';
import { expectProblem, Harness, PASSWORD } from '../helpers/harness';
import { tokenFrom } from '../helpers/smtp-sink';
import { generateKeyPair, type KeyPair, type ResponseOptions, TestIdp } from '../helpers/saml-idp';

/**
 * SAML SSO end to end: a real IdP (samlify + xml-crypto, certificates generated now), the real
 * HTTP stack, Postgres and Redis. Every refused response must leave no session behind and an
 * `sso.login_failed` audit event with its reason.
 */

interface Org {
  id: string;
  slug: string;
  domain: string;
  sp: { entityId: string; acsUrl: string; loginUrl: string; metadataUrl: string };
}

let h: Harness;
let dns: TestDnsServer;
let idp: TestIdp;
let otherKey: KeyPair;
let owner: { agent: TestAgent; email: string; userId: string };
let org: Org;

const ADMIN_GROUP = 'instatunnel-admins';

async function verifiedDomain(agent: TestAgent, orgId: string): Promise<string> {
  const domain = `corp-${randomBytes(4).toString('hex')}.example`;
  const added = await agent.post(`/v1/orgs/${orgId}/domains`).send({ domain }).expect(201);
  dns.setTxt(added.body.recordName as string, [added.body.recordValue as string]);
  await agent.post(`/v1/orgs/${orgId}/domains/${domain}/verify`).expect(200);
  return domain;
}

async function ssoOrg(
  agent: TestAgent,
  settings: Record<string, unknown> = {},
  provider: TestIdp = idp,
): Promise<Org> {
  const created = await h.org(agent);
  const domain = await verifiedDomain(agent, created.id);
  const res = await agent
    .put(`/v1/orgs/${created.id}/sso/saml`)
    .send({
      idpEntityId: provider.entityId,
      idpSsoUrl: provider.ssoUrl,
      idpCertificates: [provider.keys.certPem],
      attributeMapping: { email: 'email', name: 'displayName', groups: 'groups' },
      groupRoles: [{ group: ADMIN_GROUP, role: 'admin' }],
      defaultRole: 'member',
      allowedDomains: [domain],
      ...settings,
    })
    .expect(200);
  return { ...created, domain, sp: res.body.serviceProvider as Org['sp'] };
}

/** GET /login → the IdP reads the AuthnRequest; returns what the IdP needs to answer it. */
async function startLogin(
  browser: TestAgent,
  target: Org,
  relay = '/v1/me',
): Promise<{ requestId: string; relayState: string | null }> {
  const res = await browser
    .get(`/saml/${target.slug}/login`)
    .query({ RelayState: relay })
    .expect(302);
  const location = res.headers.location as string;
  expect(location.startsWith(idp.ssoUrl)).toBe(true);
  const req = await idp.parseRedirect(location);
  expect(req.acsUrl).toBe(target.sp.acsUrl);
  expect(req.issuer).toBe(target.sp.entityId);
  return { requestId: req.id, relayState: req.relayState };
}

function responseFor(
  target: Org,
  email: string,
  requestId: string | null,
  extra: Partial<ResponseOptions> = {},
  groups: string[] = [],
): string {
  return idp.buildResponse({
    inResponseTo: requestId,
    destination: target.sp.acsUrl,
    audience: target.sp.entityId,
    nameId: email,
    attributes: { email, displayName: 'Test User', groups },
    ...extra,
  });
}

function post(browser: TestAgent, target: Org, xml: string, relayState?: string | null) {
  const form: Record<string, string> = { SAMLResponse: idp.encode(xml) };
  if (relayState) form.RelayState = relayState;
  return browser.post(`/saml/${target.slug}/acs`).type('form').send(form);
}

/** The whole SP-initiated login; returns the browser, now holding a session. */
async function login(
  target: Org,
  email: string,
  groups: string[] = [],
  browser: TestAgent = h.agent(),
): Promise<TestAgent> {
  const { requestId, relayState } = await startLogin(browser, target);
  const res = await post(
    browser,
    target,
    responseFor(target, email, requestId, {}, groups),
    relayState,
  );
  expect(res.status).toBe(303);
  expect(res.headers.location).toBe('/v1/me');
  return browser;
}

async function failedReasons(orgId: string | null): Promise<string[]> {
  const rows: { reason: string }[] = await h.db.query(
    `SELECT metadata->>'reason' AS reason FROM audit_events
     WHERE action = 'sso.login_failed' AND org_id IS NOT DISTINCT FROM $1 ORDER BY id`,
    [orgId],
  );
  return rows.map((r) => r.reason);
}

async function expectRefused(
  res: { status: number; body: unknown; headers: Record<string, unknown> },
  orgId: string | null,
  reason: string,
): Promise<void> {
  expect(res.status).toBe(401);
  expectProblem(res.body, 'sso-failed');
  expect(res.body).toMatchObject({ reason });
  expect(res.headers['set-cookie']).toBeUndefined();
  expect((await failedReasons(orgId)).at(-1)).toBe(reason);
}

beforeAll(async () => {
  dns = await TestDnsServer.start();
  h = await Harness.start({
    env: { DNS_SERVERS: dns.address, METRICS_TOKEN: 'metrics-token-for-sso-tests' },
  });
  idp = await TestIdp.create();
  otherKey = await generateKeyPair('Someone Else');
  owner = await h.verifiedUser();
  org = await ssoOrg(owner.agent);
}, 120_000);

afterAll(async () => {
  await h?.stop();
  await dns?.stop();
});

describe('SP-initiated login with a real IdP', () => {
  it('creates the user just in time, maps the admin group and starts a session', async () => {
    const email = `alice-${randomBytes(3).toString('hex')}@${org.domain}`;
    const browser = await login(org, email, [ADMIN_GROUP, 'everyone']);

    const me = await browser.get('/v1/me').expect(200);
    expect(me.body).toMatchObject({
      email,
      emailVerified: true,
      authenticatedWith: 'session',
      ssoOrgId: org.id,
      orgs: [expect.objectContaining({ id: org.id, role: 'admin' })],
    });
    const members = await owner.agent.get(`/v1/orgs/${org.id}/members`).expect(200);
    expect(members.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email, role: 'admin', name: 'Test User' }),
      ]),
    );
    // The SSO session works on the org's API with the mapped role's scopes.
    await browser.get(`/v1/orgs/${org.id}/sso/saml`).expect(200);

    const actions = await h.auditActions(org.id);
    expect(actions).toEqual(
      expect.arrayContaining(['user.created_by_sso', 'member.added', 'sso.login']),
    );
    const [event] = await h.db.query(
      `SELECT metadata FROM audit_events WHERE org_id = $1 AND action = 'sso.login' ORDER BY id DESC LIMIT 1`,
      [org.id],
    );
    expect(event.metadata).toMatchObject({ method: 'saml', role: 'admin', userCreated: true });
  });

  it('keeps the display name the IdP sends, as printable text', async () => {
    const email = `nina-${randomBytes(3).toString('hex')}@${org.domain}`;
    const browser = h.agent();
    const { requestId } = await startLogin(browser, org);
    const xml = responseFor(org, email, requestId, {
      attributes: { email, displayName: '  Nina\u0007 Ops  ' },
    });
    expect((await post(browser, org, xml)).status).toBe(303);
    const members = await owner.agent.get(`/v1/orgs/${org.id}/members`).expect(200);
    expect(members.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, name: 'Nina Ops' })]),
    );
  });

  it('links an existing verified account instead of creating one, with the default role', async () => {
    const email = `bob-${randomBytes(3).toString('hex')}@${org.domain}`;
    const bob = await h.verifiedUser(email);
    const browser = await login(org, email);
    const me = await browser.get('/v1/me').expect(200);
    expect(me.body.id).toBe(bob.userId);
    const members = await owner.agent.get(`/v1/orgs/${org.id}/members`).expect(200);
    expect(members.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: 'member' })]),
    );
  });

  it('takes over an unverified account: the password and sessions someone set up before stop working', async () => {
    const email = `carol-${randomBytes(3).toString('hex')}@${org.domain}`;
    const squatter = h.agent();
    await squatter.post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
    await squatter.post('/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
    await squatter.get('/v1/me').expect(200);
    await login(org, email);
    const after = await squatter.get('/v1/me');
    expect(after.status).toBe(401);
    expectProblem(after.body, 'session-expired');
    const res = await h.agent().post('/v1/auth/login').send({ email, password: PASSWORD });
    expect(res.status).toBe(401);
    expectProblem(res.body, 'invalid-credentials');
  });

  it('lets the IdP groups decide the role at every login; owners are never changed', async () => {
    const email = `dave-${randomBytes(3).toString('hex')}@${org.domain}`;
    await login(org, email, [ADMIN_GROUP]);
    await login(org, email, []);
    const members = await owner.agent.get(`/v1/orgs/${org.id}/members`).expect(200);
    expect(members.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: 'member' })]),
    );
    expect(await h.auditActions(org.id)).toContain('member.role_changed');
  });

  it('refuses users without a mapped group when there is no default role', async () => {
    const strict = await ssoOrg(owner.agent, { defaultRole: null });
    const browser = h.agent();
    const { requestId } = await startLogin(browser, strict);
    const email = `erin@${strict.domain}`;
    await expectRefused(
      await post(browser, strict, responseFor(strict, email, requestId)),
      strict.id,
      'no-role',
    );
    // With the group they get in.
    await login(strict, email, [ADMIN_GROUP]);
  });

  it('with JIT off only existing members get in', async () => {
    const closed = await ssoOrg(owner.agent, { jitProvisioning: false });
    const browser = h.agent();
    const { requestId } = await startLogin(browser, closed);
    await expectRefused(
      await post(browser, closed, responseFor(closed, `frank@${closed.domain}`, requestId)),
      closed.id,
      'user-not-provisioned',
    );
  });

  it('lands only on same-site paths after login', async () => {
    const browser = h.agent();
    const bad = await browser
      .get(`/saml/${org.slug}/login`)
      .query({ RelayState: 'https://evil.example/' })
      .expect(400);
    expectProblem(bad.body, 'validation-error');
    // An IdP (or an attacker in the middle) swapping the RelayState gets the default page instead.
    const { requestId } = await startLogin(browser, org, `/v1/orgs/${org.id}`);
    const res = await post(
      browser,
      org,
      responseFor(org, `gina@${org.domain}`, requestId),
      '//evil.example/x',
    );
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/v1/me');
    // Dot segments that collapse into "//host" are refused too.
    for (const relay of ['/.//evil.example', '/a/..//evil.example', '/%2e//evil.example']) {
      await browser.get(`/saml/${org.slug}/login`).query({ RelayState: relay }).expect(400);
    }
    const again = await startLogin(browser, org);
    const dotted = await post(
      browser,
      org,
      responseFor(org, `gina@${org.domain}`, again.requestId),
      '/.//evil.example',
    );
    expect(dotted.headers.location).toBe('/v1/me');
  });

  it('starts at most 60 logins a minute from one address', async () => {
    const browser = h.agent();
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) {
      statuses.push((await browser.get(`/saml/${org.slug}/login`)).status);
    }
    expect(statuses.slice(0, 60).every((s) => s === 302)).toBe(true);
    expect(statuses[60]).toBe(429);
  });

  it('serves SP metadata with the entity id and ACS URL', async () => {
    const res = await h.http().get(`/saml/${org.slug}/metadata`).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/samlmetadata\+xml/);
    expect(res.text).toContain(`entityID="${org.sp.entityId}"`);
    expect(res.text).toContain(`Location="${org.sp.acsUrl}"`);
    expect(res.text).toContain('WantAssertionsSigned="true"');
    expect(res.text).toContain('AuthnRequestsSigned="false"');
    await h
      .http()
      .get(`/saml/no-such-org-${randomBytes(3).toString('hex')}/metadata`)
      .expect(404);
  });

  it('counts logins and refusals in /metrics', async () => {
    const res = await h
      .http()
      .get('/metrics')
      .set('Authorization', 'Bearer metrics-token-for-sso-tests')
      .expect(200);
    expect(res.text).toMatch(/instatunnel_sso_logins_total\{outcome="success",reason=""\} [1-9]/);
  });
});

describe('attacks and bad responses: refused with a reason, audited, no session', () => {
  const victim = () => `victim-${randomBytes(3).toString('hex')}@${org.domain}`;

  async function solicited(
    build: (requestId: string, email: string) => string,
    reason: string,
    target: Org = org,
  ): Promise<void> {
    const browser = h.agent();
    const { requestId } = await startLogin(browser, target);
    const res = await post(browser, target, build(requestId, victim()));
    await expectRefused(res, target.id, reason);
    await browser.get('/v1/me').expect(401);
  }

  it('unsigned response', () =>
    solicited((id, email) => TestIdp.stripSignatures(responseFor(org, email, id)), 'signature'));

  it('signature by another key (its certificate in KeyInfo is ignored)', () =>
    solicited((id, email) => responseFor(org, email, id, { signingKey: otherKey }), 'signature'));

  it('signed response with the assertion swapped for an unsigned one', () =>
    solicited(
      (id, email) =>
        TestIdp.injectUnsignedAssertion(
          responseFor(org, email, id, { signResponse: true, signAssertion: false }),
          `mallory@${org.domain}`,
        ),
      'signature',
    ));

  it('signed response with a second, unsigned assertion appended', () =>
    solicited(
      (id, email) =>
        TestIdp.injectUnsignedAssertion(
          responseFor(org, email, id, { signResponse: true, signAssertion: false }),
          `mallory@${org.domain}`,
          'append',
        ),
      'multiple-assertions',
    ));

  it('signature wrapping: signed assertion moved, forged one in its place', () =>
    solicited(
      (id, email) =>
        TestIdp.wrapMovedAssertion(
          responseFor(org, email, id, { signResponse: false }),
          `mallory@${org.domain}`,
        ),
      'multiple-assertions',
    ));

  it('signature wrapping: signed assertion duplicated with a forged copy', () =>
    solicited(
      (id, email) =>
        TestIdp.duplicateAssertion(
          responseFor(org, email, id, { signResponse: false }),
          `mallory@${org.domain}`,
        ),
      'multiple-assertions',
    ));

  it('comment injected in the NameID (signature still valid)', () =>
    solicited(
      (id) =>
        responseFor(org, `admin@${org.domain}.evil.example`, id, {
          nameIdRawXml: `admin@${org.domain}<!---->.evil.example`,
          attributes: {},
        }),
      'xml-comment',
    ));

  it('wrong audience', () =>
    solicited(
      (id, email) => responseFor(org, email, id, { audience: 'https://other-sp.example/metadata' }),
      'audience',
    ));

  it('wrong destination', () =>
    solicited(
      (id, email) =>
        responseFor(org, email, id, {
          destination: 'https://other-sp.example/acs',
          recipient: org.sp.acsUrl,
        }),
      'destination',
    ));

  it('wrong recipient', () =>
    solicited(
      (id, email) => responseFor(org, email, id, { recipient: 'https://other-sp.example/acs' }),
      'recipient',
    ));

  it('expired assertion', () =>
    solicited(
      (id, email) =>
        responseFor(org, email, id, {
          issueInstant: new Date(Date.now() - 3600_000),
          notBefore: new Date(Date.now() - 3600_000),
          notOnOrAfter: new Date(Date.now() - 600_000),
        }),
      'expired',
    ));

  it('assertion not valid yet', () =>
    solicited(
      (id, email) =>
        responseFor(org, email, id, {
          notBefore: new Date(Date.now() + 600_000),
          notOnOrAfter: new Date(Date.now() + 900_000),
        }),
      'not-yet-valid',
    ));

  it('issued by another IdP entity (signed with the pinned key)', () =>
    solicited(
      (id, email) => responseFor(org, email, id, { issuer: 'https://rogue-idp.example/metadata' }),
      'issuer',
    ));

  it('SHA-1 signature', () =>
    solicited((id, email) => responseFor(org, email, id, { algorithm: 'sha1' }), 'weak-algorithm'));

  it('XXE / DTD in the XML', () =>
    solicited(
      (id, email) =>
        TestIdp.addDoctype(
          responseFor(org, email, id),
          '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        ),
      'xml-dtd',
    ));

  it('InResponseTo of a request that was never made here', () =>
    solicited(
      (_id, email) => responseFor(org, email, `_${randomBytes(16).toString('hex')}`),
      'in-response-to',
    ));

  it("InResponseTo of another org's request", async () => {
    const other = await ssoOrg(owner.agent);
    const browser = h.agent();
    const { requestId } = await startLogin(browser, other);
    const res = await post(browser, org, responseFor(org, victim(), requestId));
    await expectRefused(res, org.id, 'in-response-to');
  });

  it('email outside the allowed domains', () =>
    solicited((id) => responseFor(org, `eve@not-${org.domain}`, id), 'domain-not-allowed'));

  it('unsolicited response while IdP-initiated login is off', async () => {
    const res = await post(h.agent(), org, responseFor(org, victim(), null));
    await expectRefused(res, org.id, 'unsolicited');
  });

  it('replay of a consumed response', async () => {
    const browser = h.agent();
    const { requestId } = await startLogin(browser, org);
    const xml = responseFor(org, victim(), requestId);
    expect((await post(browser, org, xml)).status).toBe(303);
    await expectRefused(await post(h.agent(), org, xml), org.id, 'in-response-to');
  });

  it('replay of an IdP-initiated response is caught by the assertion-id cache', async () => {
    const open = await ssoOrg(owner.agent, { allowIdpInitiated: true });
    const xml = responseFor(open, `henry@${open.domain}`, null);
    const first = await post(h.agent(), open, xml, `/v1/orgs/${open.id}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe(`/v1/orgs/${open.id}`);
    await expectRefused(await post(h.agent(), open, xml), open.id, 'replay');
  });

  it('the same response posted twice at once logs in once', async () => {
    const open = await ssoOrg(owner.agent, { allowIdpInitiated: true });
    const xml = responseFor(open, `ivan@${open.domain}`, null);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => post(h.agent(), open, xml).then((r) => r.status)),
    );
    expect(results.filter((s) => s === 303)).toHaveLength(1);
    expect(results.filter((s) => s === 401)).toHaveLength(5);
  });

  it('IdP error status', () =>
    solicited((id) => {
      const xml = responseFor(org, victim(), id, { signResponse: false, signAssertion: false });
      return xml
        .replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '')
        .replace('status:Success', 'status:Responder');
    }, 'idp-error'));

  it('malformed input: not base64, not XML, no SAMLResponse', async () => {
    const url = `/saml/${org.slug}/acs`;
    for (const [form, reason] of [
      [{ SAMLResponse: '%%%not-base64' }, 'malformed'],
      [{ SAMLResponse: Buffer.from('<samlp:Response').toString('base64') }, 'malformed'],
      [{ RelayState: '/v1/me' }, 'malformed'],
    ] as const) {
      const res = await h.agent().post(url).type('form').send(form);
      await expectRefused(res, org.id, reason);
    }
    const json = await h.agent().post(url).send({ SAMLResponse: 'x' });
    expect(json.status).toBe(401);
  });

  it('a Redirect-binding message is never inflated (deflate bomb refused)', async () => {
    const bomb = deflateRawSync(Buffer.alloc(5 * 1024 * 1024, 'A')).toString('base64');
    const refusals = [
      h.agent().get(`/saml/${org.slug}/login`).query({ SAMLResponse: bomb }),
      h.agent().post(`/saml/${org.slug}/acs`).query({ SAMLResponse: bomb }),
    ];
    for (const res of await Promise.all(refusals)) {
      await expectRefused(res, org.id, 'binding-not-supported');
    }
  });

  it('an oversized body is refused before parsing', async () => {
    const res = await h
      .agent()
      .post(`/saml/${org.slug}/acs`)
      .type('form')
      .send({ SAMLResponse: 'A'.repeat(600 * 1024) });
    expect(res.status).toBe(413);
    expectProblem(res.body, 'payload-too-large');
  });

  it('org without SSO configured', async () => {
    const plain = await h.org(owner.agent);
    const login = await h.agent().get(`/saml/${plain.slug}/login`);
    expect(login.status).toBe(404);
    expectProblem(login.body, 'sso-not-configured');
    const acs = await post(
      h.agent(),
      { ...org, slug: plain.slug },
      responseFor(org, victim(), null),
    );
    expect(acs.status).toBe(404);
    expectProblem(acs.body, 'sso-not-configured');
    expect(acs.headers['set-cookie']).toBeUndefined();
    expect(await failedReasons(plain.id)).toEqual(['not-configured', 'not-configured']);
    // Unknown slugs (anyone can invent them) are counted and logged but never audited.
    const before = (await failedReasons(null)).length;
    const unknown = await h.agent().get(`/saml/no-such-${randomBytes(3).toString('hex')}/login`);
    expect(unknown.status).toBe(404);
    const odd = await h.agent().get('/saml/%00/login');
    expect(odd.status).toBe(404);
    expectProblem(odd.body, 'sso-not-configured');
    await h.agent().get('/saml/%00/metadata').expect(404);
    expect((await failedReasons(null)).length).toBe(before);
  });

  it('an unsolicited assertion passed off as the answer to a pending request', async () => {
    // Only the assertion is signed; the attacker adds InResponseTo to the unsigned Response.
    const browser = h.agent();
    const { requestId } = await startLogin(browser, org);
    const idpInitiated = responseFor(org, victim(), null, { signResponse: false });
    const forged = idpInitiated.replace(
      /^(<(?:samlp:)?Response\b)/,
      `$1 InResponseTo="${requestId}"`,
    );
    expect(forged).toContain(`InResponseTo="${requestId}"`);
    await expectRefused(await post(browser, org, forged), org.id, 'in-response-to');
  });

  it('no refused attempt created a session or a user', async () => {
    const rows: { n: string }[] = await h.db.query(
      `SELECT count(*) AS n FROM users WHERE email LIKE 'victim-%' OR email LIKE 'mallory@%' OR email LIKE 'eve@%' OR email LIKE 'admin@%'`,
    );
    // Only the consumed-response replay test logged one victim in, once.
    expect(Number(rows[0].n)).toBe(1);
  });
});

describe('SSO required', () => {
  it('refuses password sessions on the org, keeps API keys working, accepts SSO sessions', async () => {
    const enforced = await ssoOrg(owner.agent);
    const key = await h.apiKey(owner.agent, enforced.id, ['org:read', 'sso:write']);

    // Not before one SSO login through this IdP worked (nobody gets locked out).
    const early = await owner.agent.put(`/v1/orgs/${enforced.id}/sso/saml`).send({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certPem],
      allowedDomains: [enforced.domain],
      ssoRequired: true,
    });
    expect(early.status).toBe(422);
    expectProblem(early.body, 'invalid-saml-config');

    const sso = await login(enforced, `judy@${enforced.domain}`, [ADMIN_GROUP]);
    const enforcedSettings = {
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certPem],
      attributeMapping: { email: 'email', name: 'displayName', groups: 'groups' },
      groupRoles: [{ group: ADMIN_GROUP, role: 'admin' }],
      allowedDomains: [enforced.domain],
      ssoRequired: true,
    };
    // An admin cannot switch it on (it can lock owners out); the owner can.
    const byAdmin = await sso.put(`/v1/orgs/${enforced.id}/sso/saml`).send(enforcedSettings);
    expect(byAdmin.status).toBe(403);
    expectProblem(byAdmin.body, 'forbidden');
    await owner.agent.put(`/v1/orgs/${enforced.id}/sso/saml`).send(enforcedSettings).expect(200);

    const refused = await owner.agent.get(`/v1/orgs/${enforced.id}`);
    expect(refused.status).toBe(403);
    expectProblem(refused.body, 'sso-required');
    expect(refused.body.loginUrl).toBe(enforced.sp.loginUrl);
    // Nor can a password session mint an API key for the org to get around it.
    const minted = await owner.agent
      .post('/v1/api-keys')
      .send({ name: 'bypass', orgId: enforced.id, scopes: ['org:read'] });
    expect(minted.status).toBe(403);
    expectProblem(minted.body, 'sso-required');
    // Other orgs of the same user are unaffected.
    await owner.agent.get(`/v1/orgs/${org.id}`).expect(200);
    // API keys keep working (by design: automation, and the way back if the IdP breaks).
    await h
      .http()
      .get(`/v1/orgs/${enforced.id}`)
      .set('Authorization', `Bearer ${key.key}`)
      .expect(200);
    await sso.get(`/v1/orgs/${enforced.id}`).expect(200);
    // The last allowed domain cannot be removed while SSO is required (everyone would be locked out).
    const lastDomain = await h
      .http()
      .delete(`/v1/orgs/${enforced.id}/domains/${enforced.domain}`)
      .set('Authorization', `Bearer ${key.key}`);
    expect(lastDomain.status).toBe(409);
    expectProblem(lastDomain.body, 'conflict');

    // The owner turns it off again with the API key.
    await h
      .http()
      .put(`/v1/orgs/${enforced.id}/sso/saml`)
      .set('Authorization', `Bearer ${key.key}`)
      .send({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.keys.certPem],
        allowedDomains: [enforced.domain],
      })
      .expect(200);
    await owner.agent.get(`/v1/orgs/${enforced.id}`).expect(200);
  });
});

describe('connection and domain API', () => {
  it('validates every field and reports all problems at once', async () => {
    const res = await owner.agent.put(`/v1/orgs/${org.id}/sso/saml`).send({
      idpEntityId: idp.entityId,
      idpSsoUrl: 'http://idp.example/sso',
      idpCertificates: ['not a certificate'],
      allowedDomains: ['unverified.example', 'not a domain'],
      groupRoles: [{ group: 'g', role: 'admin' }],
    });
    expect(res.status).toBe(422);
    expectProblem(res.body, 'invalid-saml-config');
    const fields = (res.body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(
      [
        'allowedDomains',
        'allowedDomains[1]',
        'attributeMapping.groups',
        'idpCertificates[0]',
        'idpSsoUrl',
      ].sort(),
    );
    const owners = await owner.agent.put(`/v1/orgs/${org.id}/sso/saml`).send({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certPem],
      defaultRole: 'owner',
    });
    expect(owners.status).toBe(400);
    expectProblem(owners.body, 'validation-error');
  });

  it('imports IdP metadata, accepts two certificates during a rotation', async () => {
    const target = await ssoOrg(owner.agent);
    const res = await owner.agent
      .post(`/v1/orgs/${target.id}/sso/saml/metadata`)
      .set('Content-Type', 'application/samlmetadata+xml')
      .send(idp.metadataXml())
      .expect(200);
    expect(res.body).toMatchObject({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      allowedDomains: [target.domain],
    });
    expect(res.body.idpCertificates).toHaveLength(1);
    expect(res.body.idpCertificates[0].sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // Rotation: the new key's responses count once both certificates are pinned.
    const next = await generateKeyPair('Rotated IdP key');
    await owner.agent
      .put(`/v1/orgs/${target.id}/sso/saml`)
      .send({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.keys.certPem, next.certPem],
        attributeMapping: { email: 'email' },
        allowedDomains: [target.domain],
      })
      .expect(200);
    const browser = h.agent();
    const { requestId } = await startLogin(browser, target);
    const signedByNext = responseFor(target, `kate@${target.domain}`, requestId, {
      signingKey: next,
    });
    expect((await post(browser, target, signedByNext)).status).toBe(303);

    const bad = await owner.agent
      .post(`/v1/orgs/${target.id}/sso/saml/metadata`)
      .set('Content-Type', 'application/xml')
      .send('<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]><x>&a;</x>');
    expect(bad.status).toBe(422);
    expectProblem(bad.body, 'invalid-saml-config');
  });

  it('needs sso:write; members get 403, strangers 404', async () => {
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, org.id, member, 'member');
    const res = await member.agent.get(`/v1/orgs/${org.id}/sso/saml`);
    expect(res.status).toBe(403);
    expectProblem(res.body, 'insufficient-scope');
    const stranger = await h.verifiedUser();
    await stranger.agent.get(`/v1/orgs/${org.id}/sso/saml`).expect(404);
  });

  it('deleting the connection ends SSO logins for the org', async () => {
    const target = await ssoOrg(owner.agent);
    await owner.agent.get(`/v1/orgs/${target.id}/sso/saml`).expect(200);
    await owner.agent.delete(`/v1/orgs/${target.id}/sso/saml`).expect(204);
    const res = await owner.agent.get(`/v1/orgs/${target.id}/sso/saml`);
    expectProblem(res.body, 'sso-not-configured');
    await h.agent().get(`/saml/${target.slug}/login`).expect(404);
    expect(await h.auditActions(target.id)).toEqual(
      expect.arrayContaining(['sso.connection_created', 'sso.connection_deleted']),
    );
  });

  it('verifies a domain by its TXT record, and only for one org', async () => {
    const target = await h.org(owner.agent);
    const domain = `proof-${randomBytes(3).toString('hex')}.example`;
    const added = await owner.agent
      .post(`/v1/orgs/${target.id}/domains`)
      .send({ domain })
      .expect(201);
    expect(added.body).toMatchObject({
      domain,
      verified: false,
      recordName: `_instatunnel-challenge.${domain}`,
    });
    const missing = await owner.agent.post(`/v1/orgs/${target.id}/domains/${domain}/verify`);
    expect(missing.status).toBe(422);
    expectProblem(missing.body, 'domain-not-verified');
    dns.setTxt(added.body.recordName, ['some-other=value', 'instatunnel-verification=wrong']);
    expect((await owner.agent.post(`/v1/orgs/${target.id}/domains/${domain}/verify`)).status).toBe(
      422,
    );
    dns.setTxt(added.body.recordName, ['some-other=value', added.body.recordValue]);
    const ok = await owner.agent.post(`/v1/orgs/${target.id}/domains/${domain}/verify`).expect(200);
    expect(ok.body.verified).toBe(true);

    // A second org can register the name but never verify it while the first holds it.
    const rival = await h.org(owner.agent);
    const rivalAdd = await owner.agent
      .post(`/v1/orgs/${rival.id}/domains`)
      .send({ domain })
      .expect(201);
    dns.setTxt(rivalAdd.body.recordName, [rivalAdd.body.recordValue]);
    const taken = await owner.agent.post(`/v1/orgs/${rival.id}/domains/${domain}/verify`);
    expect(taken.status).toBe(409);
    expectProblem(taken.body, 'domain-taken');

    const bad = await owner.agent
      .post(`/v1/orgs/${target.id}/domains`)
      .send({ domain: '10.0.0.1' });
    expect(bad.status).toBe(400);
    expectProblem(bad.body, 'validation-error');
    await owner.agent.delete(`/v1/orgs/${target.id}/domains/${domain}`).expect(204);
    expect(await h.auditActions(target.id)).toEqual(
      expect.arrayContaining(['domain.added', 'domain.verified', 'domain.removed']),
    );
  });

  it('removing a domain removes it from the allowed list (its users cannot log in)', async () => {
    const target = await ssoOrg(owner.agent);
    await owner.agent.delete(`/v1/orgs/${target.id}/domains/${target.domain}`).expect(204);
    const conn = await owner.agent.get(`/v1/orgs/${target.id}/sso/saml`).expect(200);
    expect(conn.body.allowedDomains).toEqual([]);
    const browser = h.agent();
    const { requestId } = await startLogin(browser, target);
    await expectRefused(
      await post(browser, target, responseFor(target, `liam@${target.domain}`, requestId)),
      target.id,
      'domain-not-allowed',
    );
  });
});

describe('an org IdP speaks for its own org only', () => {
  it("a session from one org's SSO reaches that org only, and never /admin", async () => {
    const email = `mia-${randomBytes(3).toString('hex')}@${org.domain}`;
    // Mia has a password account and belongs to another org too.
    const mia = await h.verifiedUser(email);
    const other = await h.org(owner.agent);
    await h.addMember(owner.agent, other.id, mia, 'member');
    const browser = await login(org, email, [ADMIN_GROUP]);
    // Her password session still reaches both orgs; the SSO one only org A.
    await mia.agent.get(`/v1/orgs/${other.id}`).expect(200);
    const refused = await browser.get(`/v1/orgs/${other.id}`);
    expect(refused.status).toBe(403);
    expectProblem(refused.body, 'forbidden');
    const minted = await browser
      .post('/v1/api-keys')
      .send({ name: 'elsewhere', orgId: other.id, scopes: ['org:read'] });
    expect(minted.status).toBe(403);
    const me = await browser.get('/v1/me').expect(200);
    expect((me.body.orgs as { id: string }[]).map((o) => o.id)).toEqual([org.id]);
    const orgs = await browser.get('/v1/orgs').expect(200);
    expect((orgs.body as { id: string }[]).map((o) => o.id)).toEqual([org.id]);
    await browser.get(`/v1/orgs/${org.id}`).expect(200);
    // Nor does it create orgs or accept invitations elsewhere.
    const created = await browser
      .post('/v1/orgs')
      .send({ name: 'Side org', slug: `side-${randomBytes(3).toString('hex')}` });
    expect(created.status).toBe(403);
    const third = await h.org(owner.agent);
    await owner.agent
      .post(`/v1/orgs/${third.id}/invitations`)
      .send({ email, role: 'member' })
      .expect(201);
    const invite = await h.smtp.waitFor(
      email,
      (m) => m.subject.includes('invited') && m.text.includes(third.slug),
    );
    const accepted = await browser
      .post('/v1/invitations/accept')
      .send({ token: tokenFrom(invite) });
    expect(accepted.status).toBe(403);
    expectProblem(accepted.body, 'forbidden');

    // Even a platform admin's SSO session does not open /admin.
    await h.db.query('UPDATE users SET is_platform_admin = true WHERE email = $1', [email]);
    const admin = await browser.get('/admin/users');
    expect(admin.status).toBe(403);
    expectProblem(admin.body, 'admin-required');
  });

  it('admins manage mappings; only owners change the IdP, its keys, the domains, or remove it', async () => {
    const target = await ssoOrg(owner.agent);
    const admin = await h.verifiedUser();
    await h.addMember(owner.agent, target.id, admin, 'admin');
    const base = {
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certPem],
      attributeMapping: { email: 'email', groups: 'groups' },
      allowedDomains: [target.domain],
    };
    await admin.agent
      .put(`/v1/orgs/${target.id}/sso/saml`)
      .send({ ...base, groupRoles: [], defaultRole: 'auditor' })
      .expect(200);
    const ownKey = await generateKeyPair('Admin key');
    for (const change of [
      { idpCertificates: [ownKey.certPem] },
      { idpCertificates: [idp.keys.certPem, ownKey.certPem] },
      { idpEntityId: 'https://admin-idp.example/metadata' },
      { idpSsoUrl: 'https://admin-idp.example/sso' },
      { allowedDomains: [] },
      // The attribute that names the user is as good as the key: an admin could point it at one they control.
      { attributeMapping: { email: 'displayName', groups: 'groups' } },
      { signatureMode: 'response' },
      { allowIdpInitiated: true },
      { enabled: false },
      { ssoRequired: true },
    ]) {
      const res = await admin.agent
        .put(`/v1/orgs/${target.id}/sso/saml`)
        .send({ ...base, ...change });
      expect(res.status).toBe(403);
      expectProblem(res.body, 'forbidden');
    }
    const imported = await admin.agent
      .post(`/v1/orgs/${target.id}/sso/saml/metadata`)
      .set('Content-Type', 'application/samlmetadata+xml')
      .send(
        (await TestIdp.create({ entityId: 'https://admin-idp.example/metadata' })).metadataXml(),
      );
    expect(imported.status).toBe(403);
    const removed = await admin.agent.delete(`/v1/orgs/${target.id}/sso/saml`);
    expect(removed.status).toBe(403);
    const domainGone = await admin.agent.delete(`/v1/orgs/${target.id}/domains/${target.domain}`);
    expect(domainGone.status).toBe(403);
    const conn = await owner.agent.get(`/v1/orgs/${target.id}/sso/saml`).expect(200);
    expect(conn.body.idpCertificates).toHaveLength(1);
    expect(conn.body.defaultRole).toBe('auditor');
  });

  it('ends SSO sessions when the owner changes what the org trusts, or disables SSO', async () => {
    const target = await ssoOrg(owner.agent);
    const settings = {
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certPem],
      attributeMapping: { email: 'email', name: 'displayName', groups: 'groups' },
      groupRoles: [{ group: ADMIN_GROUP, role: 'admin' }],
      defaultRole: 'member',
      allowedDomains: [target.domain],
    };
    const email = `olga-${randomBytes(3).toString('hex')}@${target.domain}`;
    const first = await login(target, email);
    // A mapping change (not trust) keeps sessions.
    await owner.agent
      .put(`/v1/orgs/${target.id}/sso/saml`)
      .send({ ...settings, defaultRole: 'auditor' })
      .expect(200);
    await first.get(`/v1/orgs/${target.id}`).expect(200);
    // A new certificate: sessions from before end.
    const next = await generateKeyPair('Next IdP key');
    await owner.agent
      .put(`/v1/orgs/${target.id}/sso/saml`)
      .send({ ...settings, idpCertificates: [idp.keys.certPem, next.certPem] })
      .expect(200);
    const ended = await first.get('/v1/me');
    expect(ended.status).toBe(401);
    expectProblem(ended.body, 'session-expired');
    // A new login works, and disabling the connection ends it as well.
    const second = await login(target, email);
    await second.get(`/v1/orgs/${target.id}`).expect(200);
    await owner.agent
      .put(`/v1/orgs/${target.id}/sso/saml`)
      .send({ ...settings, idpCertificates: [idp.keys.certPem, next.certPem], enabled: false })
      .expect(200);
    expect((await second.get('/v1/me')).status).toBe(401);
  });

  it('metadata values go through the same rules as the API fields', async () => {
    const target = await ssoOrg(owner.agent);
    const longId = `https://idp.example/${'x'.repeat(1100)}`;
    const md = idp.metadataXml().replace(`entityID="${idp.entityId}"`, `entityID="${longId}"`);
    const res = await owner.agent
      .post(`/v1/orgs/${target.id}/sso/saml/metadata`)
      .set('Content-Type', 'application/xml')
      .send(md);
    expect(res.status).toBe(422);
    expectProblem(res.body, 'invalid-saml-config');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'idpEntityId' })]);
  });
});
