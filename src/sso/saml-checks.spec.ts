import { safeRelayPath } from './relay-state';
import { normalizeDomain } from './domains.service';
import {
  inspectResponse,
  inspectSignedAssertion,
  parseIdpMetadata,
  SamlRejection,
  toPem,
} from './saml-xml';

describe('safeRelayPath', () => {
  it.each([
    ['/v1/me', '/v1/me'],
    ['/v1/orgs/x?tab=members#top', '/v1/orgs/x?tab=members#top'],
    ['/a/../b', '/b'],
  ])('keeps same-site path %s', (input, out) => {
    expect(safeRelayPath(input)).toBe(out);
  });

  it.each([
    'https://evil.example/',
    '//evil.example/x',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/.//evil.example',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/./\\evil.example',
    '/ok\nLocation: x',
    'relative/path',
    '',
    '/' + 'a'.repeat(600),
    42,
    undefined,
  ])('refuses %p', (input) => {
    expect(safeRelayPath(input)).toBeNull();
  });
});

describe('normalizeDomain', () => {
  it.each([
    ['Corp.Example.', 'corp.example'],
    ['sub.corp.example', 'sub.corp.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('%s → %s', (input, out) => expect(normalizeDomain(input)).toBe(out));

  it.each([
    'localhost',
    '10.0.0.1',
    '-bad.example',
    'a..b',
    'under_score.example',
    'x'.repeat(64) + '.example',
    'a b.example',
  ])('refuses %s', (input) => expect(normalizeDomain(input)).toBeNull());
});

describe('toPem', () => {
  it('wraps bare base64 and re-wraps PEM at 64 columns', () => {
    const body = 'A'.repeat(130);
    const pem = toPem(body);
    expect(pem).toBe(
      `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n${'A'.repeat(64)}\nAA\n-----END CERTIFICATE-----\n`,
    );
    expect(toPem(pem)).toBe(pem);
  });
});

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof SamlRejection) return err.reason;
    throw err;
  }
  return 'accepted';
}

const ACS = 'https://it.example/saml/acme/acs';
const b64 = (xml: string) => Buffer.from(xml).toString('base64');
const response = (inner: string, attrs = `Destination="${ACS}"`) =>
  `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" ${attrs}>` +
  `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${inner}</samlp:Response>`;
const assertion = '<saml:Assertion ID="_a"><saml:Issuer>idp</saml:Issuer></saml:Assertion>';

describe('inspectResponse (checks before node-saml)', () => {
  const check = (xml: string) =>
    reason(() => inspectResponse(b64(xml), { acsUrl: ACS, skewMs: 0 }));

  it('accepts a plain single-assertion response for this ACS', () => {
    expect(check(response(assertion))).toBe('accepted');
  });

  it.each([
    ['not base64', '%%%', 'malformed'],
    ['not XML', b64('<samlp:Response'), 'malformed'],
  ])('%s', (_name, raw, expected) => {
    expect(reason(() => inspectResponse(raw, { acsUrl: ACS, skewMs: 0 }))).toBe(expected);
  });

  it.each([
    [
      'a DTD',
      `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${response(assertion)}`,
      'xml-dtd',
    ],
    ['a comment', response(assertion.replace('idp', 'i<!---->dp')), 'xml-comment'],
    [
      'another destination',
      response(assertion, 'Destination="https://other.example/acs"'),
      'destination',
    ],
    ['no destination', response(assertion, ''), 'destination'],
    ['two assertions', response(assertion + assertion.replace('_a', '_b')), 'multiple-assertions'],
    [
      'a nested assertion',
      response(`<samlp:Extensions>${assertion}</samlp:Extensions>`),
      'multiple-assertions',
    ],
    ['an encrypted assertion', response('<saml:EncryptedAssertion/>'), 'encrypted-assertion'],
    [
      'SHA-1',
      response(
        `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></ds:SignedInfo></ds:Signature>${assertion}`,
      ),
      'weak-algorithm',
    ],
    [
      'SHA-1 under another namespace prefix',
      response(
        `<x:Signature xmlns:x="urn:example:not-dsig"><x:SignedInfo><x:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/></x:SignedInfo></x:Signature>${assertion}`,
      ),
      'weak-algorithm',
    ],
    [
      'HMAC',
      response(
        `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/></ds:SignedInfo></ds:Signature>${assertion}`,
      ),
      'weak-algorithm',
    ],
    [
      'an expired window',
      response(
        assertion.replace(
          '</saml:Assertion>',
          '<saml:Conditions NotOnOrAfter="2001-01-01T00:00:00Z"/></saml:Assertion>',
        ),
      ),
      'expired',
    ],
    [
      'a future window',
      response(
        assertion.replace(
          '</saml:Assertion>',
          '<saml:Conditions NotBefore="2999-01-01T00:00:00Z"/></saml:Assertion>',
        ),
      ),
      'not-yet-valid',
    ],
  ])('refuses %s', (_name, xml, expected) => {
    expect(check(xml)).toBe(expected);
  });

  it('names an IdP error status', () => {
    const xml = response('')
      .replace(
        'status:Success"/>',
        'status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode>',
      )
      .replace(
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">',
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">',
      );
    expect(check(xml)).toBe('idp-error');
  });
});

describe('parseIdpMetadata', () => {
  const md = (inner: string) =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example/e">${inner}</md:EntityDescriptor>`;
  const idp = (inner: string) =>
    md(
      `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor>`,
    );
  const key = (use: string, cert: string) =>
    `<md:KeyDescriptor ${use}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  const sso =
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example/post"/>' +
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/redirect"/>';

  it('reads entity id, the Redirect SSO URL and signing certificates (not encryption ones)', () => {
    const out = parseIdpMetadata(
      idp(key('use="signing"', 'AAAA') + key('', 'BBBB') + key('use="encryption"', 'CCCC') + sso),
    );
    expect(out.entityId).toBe('https://idp.example/e');
    expect(out.ssoUrl).toBe('https://idp.example/redirect');
    expect(out.certificates).toEqual([toPem('AAAA'), toPem('BBBB')]);
  });

  it.each([
    ['a DTD', `<!DOCTYPE x [<!ENTITY a "b">]>${idp(sso)}`, 'xml-dtd'],
    ['no IdP descriptor', md(''), 'malformed'],
    ['no Redirect SSO', idp(key('', 'AAAA')), 'malformed'],
    ['no certificate', idp(sso), 'malformed'],
    [
      'several entities',
      '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>',
      'malformed',
    ],
    ['not XML', '<md:EntityDescriptor', 'malformed'],
  ])('refuses %s', (_n, xml, expected) => {
    expect(reason(() => parseIdpMetadata(xml))).toBe(expected);
  });
});

describe('inspectSignedAssertion (checks on the signed bytes)', () => {
  const NOW = Date.parse('2026-06-01T12:00:00Z');
  const later = (ms: number) => new Date(NOW + ms).toISOString();
  const signed = ({
    issuer = 'https://idp.example/e',
    recipient = ACS,
    notOnOrAfter = later(300_000) as string | null,
    inResponseTo = '_req1' as string | null,
    conditionsNotOnOrAfter = later(300_000),
  } = {}) =>
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1"><saml:Issuer>${issuer}</saml:Issuer>` +
    `<saml:Subject><saml:NameID>a@corp.example</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData Recipient="${recipient}"${notOnOrAfter ? ` NotOnOrAfter="${notOnOrAfter}"` : ''}${inResponseTo ? ` InResponseTo="${inResponseTo}"` : ''}/>` +
    `</saml:SubjectConfirmation></saml:Subject><saml:Conditions NotOnOrAfter="${conditionsNotOnOrAfter}"/></saml:Assertion>`;
  const check = (xml: string, responseInResponseTo: string | null = '_req1') =>
    reason(() =>
      inspectSignedAssertion(xml, {
        acsUrl: ACS,
        idpEntityId: 'https://idp.example/e',
        responseInResponseTo,
        now: NOW,
      }),
    );

  it('accepts a bearer assertion for this ACS answering this request', () => {
    expect(check(signed())).toBe('accepted');
    const facts = inspectSignedAssertion(signed(), {
      acsUrl: ACS,
      idpEntityId: 'https://idp.example/e',
      responseInResponseTo: '_req1',
      now: NOW,
    });
    expect(facts).toEqual({ assertionId: '_a1', expiresAt: NOW + 300_000, inResponseTo: '_req1' });
  });

  it.each([
    ['another issuer', signed({ issuer: 'https://rogue.example' }), '_req1', 'issuer'],
    ['another recipient', signed({ recipient: 'https://other.example/acs' }), '_req1', 'recipient'],
    ['no NotOnOrAfter on the confirmation', signed({ notOnOrAfter: null }), '_req1', 'malformed'],
    [
      'a lifetime over 24 h',
      signed({ notOnOrAfter: later(25 * 3600_000), conditionsNotOnOrAfter: later(25 * 3600_000) }),
      '_req1',
      'malformed',
    ],
    [
      'an unsigned InResponseTo added to an IdP-initiated assertion',
      signed({ inResponseTo: null }),
      '_req1',
      'in-response-to',
    ],
    [
      'a signed InResponseTo of another request',
      signed({ inResponseTo: '_other' }),
      '_req1',
      'in-response-to',
    ],
    ['a signed InResponseTo the response does not carry', signed(), null, 'in-response-to'],
  ])('refuses %s', (_n, xml, responseInResponseTo, expected) => {
    expect(check(xml, responseInResponseTo)).toBe(expected);
  });
});
