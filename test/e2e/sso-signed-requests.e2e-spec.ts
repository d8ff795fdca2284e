import { createVerify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpSigningKey } from '../../src/config/saml-sp-key';
import { Harness } from '../helpers/harness';
import { generateKeyPair, type KeyPair, TestIdp } from '../helpers/saml-idp';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/** With SAML_SP_KEY_FILE / SAML_SP_CERT_FILE set, AuthnRequests are signed and the metadata says so. */
describe('signed AuthnRequests', () => {
  let h: Harness;
  let dir: string;
  let sp: KeyPair;
  let idp: TestIdp;
  let slug: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-key-'));
    sp = await generateKeyPair('InstaTunnel SP');
    await writeFile(join(dir, 'sp.key'), sp.privateKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'sp.crt'), sp.certPem);
    h = await Harness.start({
      env: { SAML_SP_KEY_FILE: join(dir, 'sp.key'), SAML_SP_CERT_FILE: join(dir, 'sp.crt') },
    });
    idp = await TestIdp.create();
    const owner = await h.verifiedUser();
    const org = await h.org(owner.agent);
    slug = org.slug;
    await owner.agent
      .put(`/v1/orgs/${org.id}/sso/saml`)
      .send({
        idpEntityId: idp.entityId,
        idpSsoUrl: idp.ssoUrl,
        idpCertificates: [idp.keys.certPem],
      })
      .expect(200);
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    await rm(dir, { recursive: true, force: true });
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
