import { randomBytes } from 'node:crypto';
import { TestDnsServer } from '../helpers/dns-server';
import { TestIdp } from '../helpers/saml-idp';
import { ServerProcess } from '../helpers/tunnel-stack';

/**
 * SAML through the built server processes: the login starts on one node and the IdP posts to the
 * other (the AuthnRequest cache and sessions live in the shared Redis), and a replay to the first
 * node is refused.
 */
describe('SAML across two server processes', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let dns: TestDnsServer;
  let idp: TestIdp;
  let apiKey: string;
  let orgId: string;
  let slug: string;
  const redisPrefix = `${process.env.REDIS_PREFIX}sso-${randomBytes(3).toString('hex')}:`;
  const domain = `nodes-${randomBytes(3).toString('hex')}.example`;

  const api = (node: ServerProcess, path: string, init: RequestInit = {}) =>
    fetch(`${node.base}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${apiKey}`,
        'Content-Type': 'application/json',
        ...(init.headers ?? {}),
      },
    });

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    const env = { PUBLIC_URL: 'https://instatunnel.test', DNS_SERVERS: dns.address };
    [a, b] = await Promise.all([
      ServerProcess.start(env, { redisPrefix }),
      ServerProcess.start(env, { redisPrefix }),
    ]);
    idp = await TestIdp.create();
    slug = `sso-${randomBytes(4).toString('hex')}`;
    const seeded = await a.seed(slug);
    apiKey = seeded.apiKey;
    orgId = seeded.orgId;

    const added = await api(a, `/v1/orgs/${orgId}/domains`, {
      method: 'POST',
      body: JSON.stringify({ domain }),
    });
    expect(added.status).toBe(201);
    const record = (await added.json()) as { recordName: string; recordValue: string };
    dns.setTxt(record.recordName, [record.recordValue]);
    expect(
      (await api(b, `/v1/orgs/${orgId}/domains/${domain}/verify`, { method: 'POST' })).status,
    ).toBe(200);
    // Configure through node B from the IdP's metadata, then the rest through node A.
    const imported = await api(b, `/v1/orgs/${orgId}/sso/saml/metadata`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/samlmetadata+xml' },
      body: idp.metadataXml(),
    });
    expect(imported.status).toBe(200);
    const put = await api(a, `/v1/orgs/${orgId}/sso/saml`, {
      method: 'PUT',
      body: JSON.stringify({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.keys.certPem],
        allowedDomains: [domain],
        defaultRole: 'auditor',
      }),
    });
    expect(put.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dns?.stop();
  });

  it('logs in with the request made on node A and the response posted to node B', async () => {
    const start = await fetch(`${a.base}/saml/${slug}/login?RelayState=%2Fv1%2Fme`, {
      redirect: 'manual',
    });
    expect(start.status).toBe(302);
    const request = await idp.parseRedirect(start.headers.get('location')!);
    const acsUrl = `https://instatunnel.test/saml/${slug}/acs`;
    expect(request.acsUrl).toBe(acsUrl);

    const email = `ops@${domain}`;
    const xml = idp.buildResponse({
      inResponseTo: request.id,
      destination: acsUrl,
      audience: `https://instatunnel.test/saml/${slug}/metadata`,
      nameId: email,
    });
    const form = new URLSearchParams({
      SAMLResponse: idp.encode(xml),
      RelayState: request.relayState ?? '',
    });
    const acs = await fetch(`${b.base}/saml/${slug}/acs`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect(acs.status).toBe(303);
    expect(acs.headers.get('location')).toBe('/v1/me');
    const cookie = acs.headers.get('set-cookie')!.split(';')[0];

    // The session made on B works on A, with the default role in the org.
    const me = await fetch(`${a.base}/v1/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email });
    const members = await api(a, `/v1/orgs/${orgId}/members`);
    expect(await members.json()).toEqual(
      expect.arrayContaining([expect.objectContaining({ email, role: 'auditor' })]),
    );

    // The same response replayed at node A: refused there too.
    const replay = await fetch(`${a.base}/saml/${slug}/acs`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect(replay.status).toBe(401);
    expect(replay.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await replay.json()).toMatchObject({ reason: 'in-response-to' });
    expect(replay.headers.get('set-cookie')).toBeNull();
  });
});
