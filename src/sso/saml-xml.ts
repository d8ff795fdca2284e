import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';

/**
 * The checks node-saml leaves to us, on the raw SAML message before it is handed over (they can only
 * refuse, never accept) and on the signed assertion node-saml hands back after verification.
 * Pure functions: no I/O, unit-tested with crafted XML.
 */

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
} as const;

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** RSA with SHA-256 or stronger only: SHA-1 and HMAC (key confusion) are refused before verification. */
export const ALLOWED_SIGNATURE_METHODS: ReadonlySet<string> = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
export const ALLOWED_DIGEST_METHODS: ReadonlySet<string> = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);

/** Largest decoded SAML message accepted; real responses with many groups stay well below. */
export const MAX_SAML_MESSAGE_BYTES = 256 * 1024;

/** Stable reasons for a refused SSO login: in the problem document, the audit event and metrics. */
export const SSO_FAILURE_REASONS = [
  'not-configured',
  'binding-not-supported',
  'malformed',
  'xml-dtd',
  'xml-comment',
  'too-large',
  'destination',
  'recipient',
  'multiple-assertions',
  'encrypted-assertion',
  'weak-algorithm',
  'idp-error',
  'signature',
  'issuer',
  'audience',
  'expired',
  'not-yet-valid',
  'unsolicited',
  'in-response-to',
  'replay',
  'browser-mismatch',
  'email-missing',
  'domain-not-allowed',
  'user-not-provisioned',
  'no-role',
  'invalid-response',
] as const;
export type SsoFailureReason = (typeof SSO_FAILURE_REASONS)[number];

export class SamlRejection extends Error {
  constructor(
    readonly reason: SsoFailureReason,
    message: string,
    /** The org it concerns, when known before its connection was loaded. */
    readonly orgId: string | null = null,
  ) {
    super(message);
  }
}

function reject(reason: SsoFailureReason, message: string): never {
  throw new SamlRejection(reason, message);
}

/** DOM parse that refuses DTDs and treats every parser complaint as fatal. */
export function parseStrictXml(xml: string, what: string): Document {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) reject('xml-dtd', `The ${what} contains a DTD`);
  let problem: string | null = null;
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: () => undefined,
      error: (msg: string) => {
        problem ??= msg;
      },
      fatalError: (msg: string) => {
        problem ??= msg;
      },
    },
  }).parseFromString(xml, 'text/xml');
  if (problem || !doc?.documentElement) reject('malformed', `The ${what} is not well-formed XML`);
  return doc;
}

function elements(parent: Document | Element, ns: string, name: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, name));
}

function children(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (
      n.nodeType === 1 &&
      (n as Element).namespaceURI === ns &&
      (n as Element).localName === name
    ) {
      out.push(n as Element);
    }
  }
  return out;
}

function decodeMessage(base64: string): string {
  const compact = base64.replace(/\s+/g, '');
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    reject('malformed', 'SAMLResponse is not base64');
  }
  if ((compact.length * 3) / 4 > MAX_SAML_MESSAGE_BYTES) {
    reject('too-large', `The SAML response exceeds ${MAX_SAML_MESSAGE_BYTES} bytes`);
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

export interface ResponseFacts {
  responseId: string | null;
  inResponseTo: string | null;
}

/** A timestamp attribute, or null; an unparseable one is a malformed message. */
function instant(el: Element, attr: string): number | null {
  const v = el.getAttribute(attr);
  if (!v) return null;
  const t = Date.parse(v);
  if (Number.isNaN(t)) reject('malformed', `${attr} is not a valid instant`);
  return t;
}

/**
 * Checks on the raw Response before any signature work: size, no DTD, no comments (the
 * NameID-truncation family of attacks), a Response addressed to this ACS, exactly one plaintext
 * assertion and it a direct child, only strong signature and digest algorithms, and a success status.
 * Time windows are checked here too so the refusal names the right reason; node-saml checks them
 * again on the signed assertion.
 */
export function inspectResponse(
  samlResponse: string,
  expect: { acsUrl: string; skewMs: number; now?: number },
): ResponseFacts {
  const xml = decodeMessage(samlResponse);
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) reject('xml-dtd', 'The SAML response contains a DTD');
  if (xml.includes('<!--')) reject('xml-comment', 'The SAML response contains XML comments');
  const doc = parseStrictXml(xml, 'SAML response');
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    reject('malformed', 'The message is not a SAML Response');
  }
  if (root.getAttribute('Destination') !== expect.acsUrl) {
    reject('destination', 'The response Destination is not this ACS URL');
  }
  if (elements(doc, NS.assertion, 'EncryptedAssertion').length > 0) {
    reject('encrypted-assertion', 'Encrypted assertions are not supported; send it signed');
  }
  const all = elements(doc, NS.assertion, 'Assertion');
  const direct = children(root, NS.assertion, 'Assertion');
  if (all.length !== 1 || direct.length !== 1) {
    const statusCode = elements(doc, NS.protocol, 'StatusCode')[0]?.getAttribute('Value');
    if (all.length === 0 && statusCode && statusCode !== SUCCESS) {
      reject('idp-error', `The IdP answered ${statusCode.split(':').pop()}`);
    }
    reject('multiple-assertions', 'The response must carry exactly one assertion');
  }
  // By local name in any namespace: xml-crypto finds these elements that way too.
  for (const m of elements(doc, '*', 'SignatureMethod')) {
    if (!ALLOWED_SIGNATURE_METHODS.has(m.getAttribute('Algorithm') ?? '')) {
      reject('weak-algorithm', 'Only RSA-SHA256 or RSA-SHA512 signatures are accepted');
    }
  }
  for (const m of elements(doc, '*', 'DigestMethod')) {
    if (!ALLOWED_DIGEST_METHODS.has(m.getAttribute('Algorithm') ?? '')) {
      reject('weak-algorithm', 'Only SHA-256 or SHA-512 digests are accepted');
    }
  }
  const status = children(root, NS.protocol, 'Status')[0];
  const code = status
    ? children(status, NS.protocol, 'StatusCode')[0]?.getAttribute('Value')
    : null;
  if (code !== SUCCESS)
    reject('idp-error', `The IdP answered ${code?.split(':').pop() ?? 'no status'}`);

  const now = expect.now ?? Date.now();
  const assertion = direct[0];
  const windows: Element[] = [
    ...children(assertion, NS.assertion, 'Conditions'),
    ...elements(assertion, NS.assertion, 'SubjectConfirmationData'),
  ];
  for (const el of windows) {
    const notBefore = instant(el, 'NotBefore');
    const notOnOrAfter = instant(el, 'NotOnOrAfter');
    if (notBefore !== null && now + expect.skewMs < notBefore) {
      reject('not-yet-valid', 'The assertion is not valid yet');
    }
    if (notOnOrAfter !== null && now - expect.skewMs >= notOnOrAfter) {
      reject('expired', 'The assertion has expired');
    }
  }
  return {
    responseId: root.getAttribute('ID') || null,
    inResponseTo: root.getAttribute('InResponseTo') || null,
  };
}

/** Longest validity accepted for an assertion; its ID is remembered (against replays) that long. */
export const MAX_ASSERTION_LIFETIME_MS = 24 * 3600 * 1000;

export interface AssertionFacts {
  assertionId: string;
  /** When the assertion stops being acceptable: how long its ID must be remembered. */
  expiresAt: number;
  /** The signed InResponseTo of the bearer confirmation (null for an IdP-initiated login). */
  inResponseTo: string | null;
}

/**
 * Checks on the assertion node-saml verified (its signed bytes): issued by the configured IdP, an ID
 * to remember against replays, a bearer confirmation whose Recipient is this ACS, with an expiry
 * (at most MAX_ASSERTION_LIFETIME_MS ahead) and the same InResponseTo as the (possibly unsigned)
 * Response: node-saml compares the two only when the signed one is present, so an IdP-initiated
 * assertion could otherwise be passed off as the answer to a pending request.
 */
export function inspectSignedAssertion(
  assertionXml: string,
  expect: {
    acsUrl: string;
    idpEntityId: string;
    responseInResponseTo: string | null;
    now?: number;
  },
): AssertionFacts {
  const doc = parseStrictXml(assertionXml, 'assertion');
  const assertion = doc.documentElement;
  if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
    reject('malformed', 'The signed element is not an assertion');
  }
  const issuer = children(assertion, NS.assertion, 'Issuer')[0]?.textContent?.trim();
  if (issuer !== expect.idpEntityId) {
    reject('issuer', 'The assertion was not issued by the configured IdP');
  }
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) reject('malformed', 'The assertion has no ID');
  const subject = children(assertion, NS.assertion, 'Subject')[0];
  const confirmations = subject ? children(subject, NS.assertion, 'SubjectConfirmation') : [];
  const bearer = confirmations
    .filter((c) => c.getAttribute('Method') === BEARER)
    .map((c) => children(c, NS.assertion, 'SubjectConfirmationData')[0])
    .filter((d): d is Element => d !== undefined);
  const forUs = bearer.filter((d) => d.getAttribute('Recipient') === expect.acsUrl);
  if (forUs.length === 0) {
    reject('recipient', 'No bearer confirmation names this ACS URL as its Recipient');
  }
  const now = expect.now ?? Date.now();
  const confirmation = forUs[0];
  const confirmationExpiry = instant(confirmation, 'NotOnOrAfter');
  if (confirmationExpiry === null) {
    reject('malformed', 'The bearer confirmation has no NotOnOrAfter');
  }
  const limits = [
    confirmationExpiry,
    ...children(assertion, NS.assertion, 'Conditions').map((c) => instant(c, 'NotOnOrAfter')),
  ].filter((t): t is number => t !== null);
  const expiresAt = Math.min(...limits);
  if (expiresAt - now > MAX_ASSERTION_LIFETIME_MS) {
    reject('malformed', 'The assertion stays valid for more than 24 hours');
  }
  const inResponseTo = confirmation.getAttribute('InResponseTo') || null;
  if (inResponseTo !== expect.responseInResponseTo) {
    reject('in-response-to', 'The signed InResponseTo does not match the response');
  }
  return { assertionId, expiresAt, inResponseTo };
}

export interface IdpMetadata {
  entityId: string;
  ssoUrl: string;
  certificates: string[];
}

/** Reads one IdP's EntityDescriptor: entity id, the HTTP-Redirect SSO URL and its signing certificates. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const doc = parseStrictXml(xml, 'metadata');
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.metadata || root.localName !== 'EntityDescriptor') {
    reject(
      'malformed',
      root.localName === 'EntitiesDescriptor'
        ? 'The metadata lists several entities; import the EntityDescriptor of one IdP'
        : 'The metadata is not a SAML EntityDescriptor',
    );
  }
  const entityId = root.getAttribute('entityID');
  if (!entityId) reject('malformed', 'The EntityDescriptor has no entityID');
  const idp = children(root, NS.metadata, 'IDPSSODescriptor')[0];
  if (!idp) reject('malformed', 'The metadata has no IDPSSODescriptor');
  const sso = children(idp, NS.metadata, 'SingleSignOnService').find(
    (s) => s.getAttribute('Binding') === REDIRECT_BINDING,
  );
  const ssoUrl = sso?.getAttribute('Location');
  if (!ssoUrl) reject('malformed', 'The IdP offers no HTTP-Redirect SingleSignOnService');
  const certificates = children(idp, NS.metadata, 'KeyDescriptor')
    .filter((k) => (k.getAttribute('use') || 'signing') === 'signing')
    .flatMap((k) => elements(k, NS.dsig, 'X509Certificate'))
    .map((c) => toPem(c.textContent ?? ''));
  if (certificates.length === 0) reject('malformed', 'The metadata has no signing certificate');
  return { entityId, ssoUrl, certificates: [...new Set(certificates)] };
}

/** Normalises a certificate given as PEM or bare base64 DER to PEM with 64-column lines. */
export function toPem(input: string): string {
  const body = input.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export interface CertificateInfo {
  sha256: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  keyBits: number | null;
}

/** Parses a certificate; null when it is not a readable X.509 certificate. */
export function certificateInfo(pem: string): CertificateInfo | null {
  try {
    const cert = new X509Certificate(pem);
    const key = cert.publicKey;
    return {
      sha256: cert.fingerprint256,
      subject: cert.subject.replace(/\n/g, ', '),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      keyBits:
        key.asymmetricKeyType === 'rsa' ? (key.asymmetricKeyDetails?.modulusLength ?? null) : null,
    };
  } catch {
    return null;
  }
}
