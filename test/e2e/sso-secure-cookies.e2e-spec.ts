import { createVerify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpSigningKey } from '../../src/config/saml-sp-key';
import { randomBytes } from 'node:crypto';
import { TestDnsServer } from '../helpers/dns-server';
import { Harness, PASSWORD, uniqueEmail, uniqueSlug } from '../helpers/harness';
import { tokenFrom } from '../helpers/smtp-sink';
import { generateKeyPair, type KeyPair, TestIdp } from '../helpers/saml-idp';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/**
 * A production-like setup: COOKIE_SECURE=true (so logins are bound to the browser that started
 * them) and an SP key pair (so AuthnRequests are signed and the metadata says so). The client here
 * speaks plain http, so cookies are carried by hand.
 */
describe('SAML with secure cookies and an SP signing key', () => {
  let h: Harness;
  let dns: TestDnsServer;
  let dir: string;
  let sp: KeyPair;
  let idp: TestIdp;
  let slug: string;
  let domain: string;

  const cookieOf = (res: { headers: Record<string, unknown> }, name: string): string | null => {
    const all = (res.headers['set-cookie'] as string[] | undefined) ?? [];
    const line = all.find((c) => c.startsWith(`${name}=`));
    return line ? line.split(';')[0] : null;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-key-'));
    sp = await generateKeyPair('InstaTunnel SP');
    await writeFile(join(dir, 'sp.key'), sp.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'sp.crt'), sp.certPem);
    dns = await TestDnsServer.start();
    h = await Harness.start({
      env: {
        SAML_SP_KEY_FILE: join(dir, 'sp.key'),
        SAML_SP_CERT_FILE: join(dir, 'sp.crt'),
        COOKIE_SECURE: 'true',
        DNS_SERVERS: dns.address,
      },
    });
    idp = await TestIdp.create();
    // The owner's session cookie is Secure: log in by hand and carry it.
    const email = uniqueEmail('owner');
    await h.http().post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
    const mail = await h.smtp.waitFor(email, (m) => m.subject.includes('Verify'));
    await h
      .http()
      .post('/v1/auth/verify-email')
      .send({ token: tokenFrom(mail) })
      .expect(200);
    const login = await h
      .http()
      .post('/v1/auth/login')
      .send({ email, password: PASSWORD })
      .expect(200);
    const session = cookieOf(login, 'it_session')!;
    expect(login.headers['set-cookie'][0]).toMatch(/; Secure/);
    slug = uniqueSlug();
    const org = await h
      .http()
      .post('/v1/orgs')
      .set('Cookie', session)
      .send({ name: 'Secure org', slug })
      .expect(201);
    domain = `secure-${randomBytes(3).toString('hex')}.example`;
    const added = await h
      .http()
      .post(`/v1/orgs/${org.body.id}/domains`)
      .set('Cookie', session)
      .send({ domain })
      .expect(201);
    dns.setTxt(added.body.recordName, [added.body.recordValue]);
    await h
      .http()
      .post(`/v1/orgs/${org.body.id}/domains/${domain}/verify`)
      .set('Cookie', session)
      .expect(200);
    await h
      .http()
      .put(`/v1/orgs/${org.body.id}/sso/saml`)
      .set('Cookie', session)
      .send({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.keys.certPem],
        allowedDomains: [domain],
      })
      .expect(200);
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    await dns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<{ requestId: string; cookie: string }> {
    const res = await h.http().get(`/saml/${slug}/login`).expect(302);
    const request = await idp.parseRedirect(res.headers.location as string);
    const line = (res.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith(`it_saml_${request.id.slice(1)}=`),
    )!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/Secure/);
    expect(line).toMatch(/SameSite=None/);
    expect(line).toContain(`Path=/saml/${slug}/acs`);
    return { requestId: request.id, cookie: line.split(';')[0] };
  }

  function answer(requestId: string, email: string): string {
    const acs = `${process.env.PUBLIC_URL}/saml/${slug}/acs`;
    return idp.encode(
      idp.buildResponse({
        inResponseTo: requestId,
        destination: acs,
        audience: `${process.env.PUBLIC_URL}/saml/${slug}/metadata`,
        nameId: email,
      }),
    );
  }

  it('binds the login to the browser that started it (login CSRF refused)', async () => {
    const victimBrowser = await start();
    const attacker = await start();
    // The attacker completes the login at the IdP as themselves and makes the victim's browser post it.
    const forced = await h
      .http()
      .post(`/saml/${slug}/acs`)
      .set('Cookie', victimBrowser.cookie)
      .type('form')
      .send({ SAMLResponse: answer(attacker.requestId, `attacker@${domain}`) });
    expect(forced.status).toBe(401);
    expect(forced.body).toMatchObject({ reason: 'browser-mismatch' });
    expect(cookieOf(forced, 'it_session')).toBeNull();

    // The rightful browser, with its cookie, gets in; the session cookie is Secure.
    const ok = await h
      .http()
      .post(`/saml/${slug}/acs`)
      .set('Cookie', attacker.cookie)
      .type('form')
      .send({ SAMLResponse: answer(attacker.requestId, `attacker@${domain}`) });
    expect(ok.status).toBe(303);
    const session = cookieOf(ok, 'it_session')!;
    expect((ok.headers['set-cookie'] as unknown as string[]).join('\n')).toMatch(
      /it_session=[^;]+;.*Secure/,
    );
    // The request cookie is cleared.
    expect(cookieOf(ok, attacker.cookie.split('=')[0])).toBe(`${attacker.cookie.split('=')[0]}=`);
    const me = await h.http().get('/v1/me').set('Cookie', session).expect(200);
    expect(me.body.email).toBe(`attacker@${domain}`);
  });

  it('signs the Redirect-binding request with RSA-SHA256 over the exact query octets', async () => {
    const res = await h
      .agent()
      .get(`/saml/${slug}/login`)
      .query({ RelayState: '/v1/me' })
      .expect(302);
    const location = res.headers.location as string;
    const url = new URL(location);
    expect(url.searchParams.get('SigAlg')).toBe(RSA_SHA256);
    const raw = new Map(
      url.search
        .slice(1)
        .split('&')
        .map((pair) => [pair.split('=', 1)[0], pair] as const),
    );
    const octets = ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => raw.get(k)!).join('&');
    const signature = Buffer.from(url.searchParams.get('Signature')!, 'base64');
    expect(createVerify('RSA-SHA256').update(octets).verify(sp.certPem, signature)).toBe(true);
    // Tampering with the RelayState breaks it.
    const tampered = octets.replace('RelayState=%2Fv1%2Fme', 'RelayState=%2Fadmin');
    expect(createVerify('RSA-SHA256').update(tampered).verify(sp.certPem, signature)).toBe(false);
    // The IdP still reads the request as before.
    const parsed = await idp.parseRedirect(location);
    expect(parsed.relayState).toBe('/v1/me');
  });

  it('publishes the signing certificate and AuthnRequestsSigned in the SP metadata', async () => {
    const res = await h.http().get(`/saml/${slug}/metadata`).expect(200);
    expect(res.text).toContain('AuthnRequestsSigned="true"');
    const body = sp.certPem.replace(/-----[A-Z ]+-----|\s/g, '');
    expect(res.text.replace(/\s/g, '')).toContain(body);
  });

  it('refuses a missing half, an unreadable file, a non-key and a certificate of another key', async () => {
    const other = await generateKeyPair('Another key');
    await writeFile(join(dir, 'other.crt'), other.certPem);
    await writeFile(join(dir, 'junk.pem'), 'not a key');
    const cases: [Record<string, string>, string][] = [
      [{ SAML_SP_KEY_FILE: join(dir, 'sp.key') }, 'SAML_SP_CERT_FILE: must be set'],
      [{ SAML_SP_CERT_FILE: join(dir, 'sp.crt') }, 'SAML_SP_KEY_FILE: must be set'],
      [
        { SAML_SP_KEY_FILE: join(dir, 'missing.key'), SAML_SP_CERT_FILE: join(dir, 'sp.crt') },
        'SAML_SP_KEY_FILE: cannot be read',
      ],
      [
        { SAML_SP_KEY_FILE: join(dir, 'junk.pem'), SAML_SP_CERT_FILE: join(dir, 'sp.crt') },
        'SAML_SP_KEY_FILE: is not a PEM private key',
      ],
      [
        { SAML_SP_KEY_FILE: join(dir, 'sp.key'), SAML_SP_CERT_FILE: join(dir, 'junk.pem') },
        'SAML_SP_CERT_FILE: is not a PEM X.509 certificate',
      ],
      [
        { SAML_SP_KEY_FILE: join(dir, 'sp.key'), SAML_SP_CERT_FILE: join(dir, 'other.crt') },
        'SAML_SP_CERT_FILE: is not the certificate of SAML_SP_KEY_FILE',
      ],
    ];
    for (const [env, problem] of cases) {
      const { key, problems } = readSpSigningKey(env);
      expect(key).toBeNull();
      expect(problems.join('\n')).toContain(problem);
      expect(problems.join('\n')).not.toContain('PRIVATE KEY');
    }
    expect(
      readSpSigningKey({
        SAML_SP_KEY_FILE: join(dir, 'sp.key'),
        SAML_SP_CERT_FILE: join(dir, 'sp.crt'),
      }).key,
    ).not.toBeNull();
  });
});
