/**
 * A real SAML 2.0 Identity Provider for end-to-end tests of our Service Provider.
 *
 * - Keys and certificates are generated at test time (RSA 2048, self-signed) with the `openssl` CLI.
 * - Metadata and AuthnRequest parsing (HTTP-Redirect binding) go through samlify.
 * - Responses are built as compact XML strings and signed with xml-crypto (enveloped signature,
 *   exclusive C14N, placed right after the signed element's Issuer), so every byte is under our
 *   control and attack variants can be derived from genuinely signed documents.
 * - The static attack helpers rewrite signed XML through a DOM round trip (@xmldom/xmldom), which
 *   leaves the canonical form of untouched elements, and so their signatures, intact.
 *
 * Never pretty-print a signed document: whitespace between elements is signed content.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import {
  IdentityProvider,
  type IdentityProviderInstance,
  ServiceProvider,
  type ServiceProviderInstance,
  setSchemaValidator,
} from 'samlify';
import { SignedXml } from 'xml-crypto';

const execFileAsync = promisify(execFile);

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const ALGORITHMS = {
  sha1: {
    signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    digest: 'http://www.w3.org/2000/09/xmldsig#sha1',
  },
  sha256: {
    signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
  },
  sha512: {
    signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
    digest: 'http://www.w3.org/2001/04/xmlenc#sha512',
  },
} as const;

export type SignatureAlgorithm = keyof typeof ALGORITHMS;

export interface KeyPair {
  /** PKCS#8 PEM private key. */
  privateKeyPem: string;
  /** Full PEM, "-----BEGIN CERTIFICATE-----...". */
  certPem: string;
}

/** A fresh RSA 2048 key and a self-signed X.509 certificate for it, valid from now for two days. */
export async function generateKeyPair(commonName = 'InstaTunnel Test IdP'): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'saml-idp-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    // `-subj` treats `/`, `+`, `=` and `\` specially; escape them so any CN is taken literally.
    const cn = commonName.replace(/[\\/+=]/g, (c) => `\\${c}`);
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]);
    const [privateKeyPem, certPem] = await Promise.all([
      readFile(keyFile, 'utf8'),
      readFile(certFile, 'utf8'),
    ]);
    return { privateKeyPem, certPem };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface AuthnRequestInfo {
  id: string;
  acsUrl: string | null;
  issuer: string;
  relayState: string | null;
  destination: string | null;
}

export interface ResponseOptions {
  /** Omitted/null: unsolicited (no InResponseTo on Response nor SubjectConfirmationData). */
  inResponseTo?: string | null;
  /** Response@Destination. */
  destination: string;
  /** SubjectConfirmationData@Recipient; defaults to `destination`. */
  recipient?: string;
  /** AudienceRestriction/Audience. */
  audience: string;
  /** Subject/NameID text (emailAddress format). */
  nameId: string;
  /**
   * Raw markup used as the NameID content instead of the escaped `nameId`, inserted before
   * signing, e.g. 'admin@org.com<!---->.evil.com'. Exclusive C14N drops comments, so the
   * signature is valid while a naive text reader sees only 'admin@org.com'.
   */
  nameIdRawXml?: string;
  /** AttributeStatement: Name = key, one AttributeValue per value. */
  attributes?: Record<string, string | string[]>;
  /** Conditions@NotBefore; default now - 1 min. */
  notBefore?: Date;
  /** Conditions and SubjectConfirmationData NotOnOrAfter; default now + 5 min. */
  notOnOrAfter?: Date;
  /** Response, Assertion IssueInstant and AuthnInstant; default now. */
  issueInstant?: Date;
  /** Enveloped signature on the Response, after its Issuer; default true. */
  signResponse?: boolean;
  /** Enveloped signature on the Assertion, after its Issuer; default true. */
  signAssertion?: boolean;
  /** Default the IdP's own key; pass another to simulate "signed by another key". */
  signingKey?: KeyPair;
  /** Signature and digest algorithm; default sha256. */
  algorithm?: SignatureAlgorithm;
  /** Default random `_` + hex. */
  assertionId?: string;
  /** Default random `_` + hex. */
  responseId?: string;
  /** Issuer of both Response and Assertion; default the IdP entity id. */
  issuer?: string;
}

export interface TestIdpOptions {
  entityId?: string;
  ssoUrl?: string;
}

/** How `injectUnsignedAssertion` tampers: rewrite the existing assertion, or append a second one. */
export type InjectMode = 'replace' | 'append';

// samlify refuses to parse anything until a schema validator is registered. The setting is
// module-wide, but samlify only serves this test IdP (the SP under test uses node-saml).
let samlifyReady = false;
function ensureSamlifyValidator(): void {
  if (samlifyReady) return;
  setSchemaValidator({ validate: async () => 'skipped' });
  samlifyReady = true;
}

/** samlify warns on every IdP without a SingleLogoutService; this one deliberately has none. */
function withoutSloWarning<T>(build: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('SingleLogoutService')) warn(...args);
  };
  try {
    return build();
  } finally {
    console.warn = warn;
  }
}

export class TestIdp {
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly keys: KeyPair;
  private readonly idp: IdentityProviderInstance;
  private readonly anySp: ServiceProviderInstance;

  private constructor(entityId: string, ssoUrl: string, keys: KeyPair) {
    this.entityId = entityId;
    this.ssoUrl = ssoUrl;
    this.keys = keys;
    this.idp = withoutSloWarning(() =>
      IdentityProvider({
        entityID: entityId,
        privateKey: keys.privateKeyPem,
        signingCert: keys.certPem,
        wantAuthnRequestsSigned: false,
        nameIDFormat: [NAMEID_EMAIL],
        singleSignOnService: [
          { Binding: BINDING_REDIRECT, Location: ssoUrl },
          { Binding: BINDING_POST, Location: ssoUrl },
        ],
      }),
    );
    // samlify wants the requesting SP as an entity, but for unsigned AuthnRequests it only reads
    // its metadata to verify signatures, so a placeholder serves every SP.
    this.anySp = ServiceProvider({ entityID: 'urn:instatunnel:test-idp:any-sp' });
  }

  static async create(opts: TestIdpOptions = {}): Promise<TestIdp> {
    ensureSamlifyValidator();
    return new TestIdp(
      opts.entityId ?? 'https://idp.test.example/metadata',
      opts.ssoUrl ?? 'https://idp.test.example/sso',
      await generateKeyPair(),
    );
  }

  /** EntityDescriptor with an IDPSSODescriptor: signing cert, SSO over Redirect and POST, emailAddress NameID. */
  metadataXml(): string {
    return this.idp.getMetadata();
  }

  /**
   * Parses the AuthnRequest carried by the URL the SP redirected the browser to
   * (HTTP-Redirect binding: SAMLRequest = base64(deflateRaw(xml)), optional RelayState).
   * Request signatures (SigAlg/Signature) are not verified: this IdP does not require them.
   */
  async parseRedirect(location: string): Promise<AuthnRequestInfo> {
    const url = new URL(location);
    const samlRequest = url.searchParams.get('SAMLRequest');
    if (!samlRequest) throw new Error(`no SAMLRequest in ${location}`);
    const relayState = url.searchParams.get('RelayState');
    const query: Record<string, string> = { SAMLRequest: samlRequest };
    for (const name of ['RelayState', 'SigAlg', 'Signature']) {
      const value = url.searchParams.get(name);
      if (value !== null) query[name] = value;
    }
    // The signed octet string uses the parameters exactly as they were URL-encoded on the wire.
    const rawParams = new Map(
      url.search
        .slice(1)
        .split('&')
        .map((pair) => [pair.split('=', 1)[0], pair] as const),
    );
    const octetString = ['SAMLRequest', 'RelayState', 'SigAlg']
      .map((name) => rawParams.get(name))
      .filter((pair): pair is string => pair !== undefined)
      .join('&');

    const { extract } = await this.idp.parseLoginRequest(this.anySp, 'redirect', {
      query,
      octetString,
    });
    const request = isStringRecord(extract.request) ? extract.request : {};
    const id = firstString(request.id);
    if (!id) throw new Error('AuthnRequest has no ID');
    return {
      id,
      acsUrl: firstString(request.assertionConsumerServiceUrl) ?? null,
      issuer: firstString(extract.issuer) ?? '',
      relayState,
      destination: firstString(request.destination) ?? null,
    };
  }

  /** A SAMLResponse document, signed as requested. Do not reformat the returned string. */
  buildResponse(opts: ResponseOptions): string {
    const now = opts.issueInstant ?? new Date();
    const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
    const notOnOrAfter = opts.notOnOrAfter ?? new Date(Date.now() + 5 * 60_000);
    const issuer = opts.issuer ?? this.entityId;
    const responseId = checkId(opts.responseId ?? randomId());
    const assertionId = checkId(opts.assertionId ?? randomId());
    const inResponseTo = opts.inResponseTo ?? null;
    const irt = inResponseTo === null ? '' : ` InResponseTo="${attr(inResponseTo)}"`;
    const nameIdContent = opts.nameIdRawXml ?? text(opts.nameId);

    const attributes = Object.entries(opts.attributes ?? {});
    const attributeStatement =
      attributes.length === 0
        ? ''
        : '<saml:AttributeStatement>' +
          attributes
            .map(
              ([name, values]) =>
                `<saml:Attribute Name="${attr(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
                (Array.isArray(values) ? values : [values])
                  .map((v) => `<saml:AttributeValue>${text(v)}</saml:AttributeValue>`)
                  .join('') +
                '</saml:Attribute>',
            )
            .join('') +
          '</saml:AttributeStatement>';

    const assertion =
      `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${text(issuer)}</saml:Issuer>` +
      '<saml:Subject>' +
      `<saml:NameID Format="${NAMEID_EMAIL}">${nameIdContent}</saml:NameID>` +
      '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">' +
      `<saml:SubjectConfirmationData${irt} NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${attr(opts.recipient ?? opts.destination)}"/>` +
      '</saml:SubjectConfirmation>' +
      '</saml:Subject>' +
      `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}">` +
      `<saml:AudienceRestriction><saml:Audience>${text(opts.audience)}</saml:Audience></saml:AudienceRestriction>` +
      '</saml:Conditions>' +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${randomId()}">` +
      '<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>' +
      '</saml:AuthnStatement>' +
      attributeStatement +
      '</saml:Assertion>';

    let xml =
      `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${responseId}" Version="2.0" IssueInstant="${iso(now)}" Destination="${attr(opts.destination)}"${irt}>` +
      `<saml:Issuer>${text(issuer)}</saml:Issuer>` +
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
      assertion +
      '</samlp:Response>';

    const key = opts.signingKey ?? this.keys;
    const algorithm = opts.algorithm ?? 'sha256';
    // Inner first: the Response signature then covers the signed Assertion.
    if (opts.signAssertion ?? true) xml = signElement(xml, assertionId, key, algorithm);
    if (opts.signResponse ?? true) xml = signElement(xml, responseId, key, algorithm);
    return xml;
  }

  /** Base64 for the SAMLResponse form field. */
  encode(xml: string): string {
    return Buffer.from(xml, 'utf8').toString('base64');
  }

  // ---- Attack crafting. Each takes XML produced by buildResponse and returns new XML. ----

  /** Removes every ds:Signature element. */
  static stripSignatures(xml: string): string {
    const doc = parseXml(xml);
    for (const sig of Array.from(doc.getElementsByTagNameNS(NS.dsig, 'Signature'))) {
      sig.parentNode?.removeChild(sig);
    }
    return serialize(doc);
  }

  /**
   * Signature wrapping: the original signed Assertion moves into Response/samlp:Extensions and an
   * unsigned copy (fresh ID, NameID and email attributes set to `evilNameId`) takes its place as the
   * direct child of the Response. The Response signature, which could no longer verify, is removed.
   */
  static wrapMovedAssertion(signedXml: string, evilNameId: string): string {
    const doc = parseXml(signedXml);
    const response = responseOf(doc);
    removeDirectSignatures(response);
    const original = firstAssertion(response);
    const evil = evilCopy(original, evilNameId);
    response.replaceChild(evil, original);

    const extensions = doc.createElementNS(NS.protocol, qualified(response.prefix, 'Extensions'));
    extensions.appendChild(original);
    // Schema order: Issuer, Signature, Extensions, Status, ...
    const issuer = directChildren(response, NS.assertion, 'Issuer')[0];
    response.insertBefore(extensions, issuer ? issuer.nextSibling : response.firstChild);
    return serialize(doc);
  }

  /**
   * Two Assertion children: an unsigned evil copy (fresh ID, NameID and email attributes set to
   * `evilNameId`) placed first, where naive readers look, followed by the signed original. The
   * Response signature, which could no longer verify, is removed.
   */
  static duplicateAssertion(signedXml: string, evilNameId: string): string {
    const doc = parseXml(signedXml);
    const response = responseOf(doc);
    removeDirectSignatures(response);
    const original = firstAssertion(response);
    response.insertBefore(evilCopy(original, evilNameId), original);
    return serialize(doc);
  }

  /**
   * Tampering under a Response signature (meant for `signResponse: true, signAssertion: false`),
   * without re-signing, so the Response signature no longer matches:
   * - 'replace' (default): the assertion's NameID and email attributes become `evilNameId`;
   * - 'append': a second, unsigned assertion for `evilNameId` follows the original.
   */
  static injectUnsignedAssertion(
    signedResponseXml: string,
    evilNameId: string,
    mode: InjectMode = 'replace',
  ): string {
    const doc = parseXml(signedResponseXml);
    const response = responseOf(doc);
    const original = firstAssertion(response);
    if (mode === 'replace') {
      setIdentity(original, evilNameId);
    } else {
      response.insertBefore(evilCopy(original, evilNameId), original.nextSibling);
    }
    return serialize(doc);
  }

  /**
   * Splits every NameID whose text is exactly `before + after` with an empty comment:
   * `before<!---->after`. Exclusive C14N drops comments, so this works on signed XML too and the
   * signatures stay valid (the classic attack: register `admin@org.com.evil.com`, split it after
   * signing). For a response signed with the comment already in place use `nameIdRawXml`.
   */
  static commentInNameId(xml: string, before: string, after: string): string {
    const doc = parseXml(xml);
    const nameIds = Array.from(doc.getElementsByTagNameNS(NS.assertion, 'NameID'));
    if (nameIds.length === 0) throw new Error('no NameID to split');
    for (const nameId of nameIds) {
      if (nameId.textContent !== before + after) {
        throw new Error(`NameID is ${JSON.stringify(nameId.textContent)}, not before + after`);
      }
      clearChildren(nameId);
      nameId.appendChild(doc.createTextNode(before));
      nameId.appendChild(doc.createComment(''));
      nameId.appendChild(doc.createTextNode(after));
    }
    return serialize(doc);
  }

  /** Prefixes a DTD (after any XML declaration), e.g. `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`. */
  static addDoctype(xml: string, doctype: string): string {
    const declaration = /^<\?xml[^?]*\?>/.exec(xml);
    if (!declaration) return doctype + xml;
    return declaration[0] + doctype + xml.slice(declaration[0].length);
  }
}

// ---- Signing ----

function signElement(xml: string, id: string, key: KeyPair, algorithm: SignatureAlgorithm): string {
  const { signature, digest } = ALGORITHMS[algorithm];
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    // Also yields KeyInfo/X509Data/X509Certificate with this certificate.
    publicCert: key.certPem,
    signatureAlgorithm: signature,
    canonicalizationAlgorithm: EXC_C14N,
  });
  const target = `//*[@ID='${id}']`;
  sig.addReference({ xpath: target, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: digest });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
  });
  return sig.getSignedXml();
}

// ---- DOM helpers for the attack utilities ----

function parseXml(xml: string): Document {
  const fail = (msg: string): never => {
    throw new Error(`unparseable XML: ${msg}`);
  };
  return new DOMParser({ errorHandler: { error: fail, fatalError: fail } }).parseFromString(
    xml,
    'text/xml',
  );
}

function serialize(doc: Document): string {
  return new XMLSerializer().serializeToString(doc);
}

function responseOf(doc: Document): Element {
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.protocol || root.localName !== 'Response') {
    throw new Error('not a samlp:Response document');
  }
  return root;
}

function directChildren(parent: Element, ns: string, localName: string): Element[] {
  return Array.from(parent.childNodes).filter(
    (n): n is Element =>
      n.nodeType === n.ELEMENT_NODE &&
      (n as Element).namespaceURI === ns &&
      (n as Element).localName === localName,
  );
}

function firstAssertion(response: Element): Element {
  const assertion = directChildren(response, NS.assertion, 'Assertion')[0];
  if (!assertion) throw new Error('Response has no Assertion child');
  return assertion;
}

function removeDirectSignatures(element: Element): void {
  for (const sig of directChildren(element, NS.dsig, 'Signature')) element.removeChild(sig);
}

function clearChildren(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** An unsigned copy of `assertion` with a fresh ID asserting `nameId`. */
function evilCopy(assertion: Element, nameId: string): Element {
  const copy = assertion.cloneNode(true) as Element;
  removeDirectSignatures(copy);
  copy.setAttribute('ID', randomId());
  setIdentity(copy, nameId);
  return copy;
}

/** Sets the NameID and every email-like attribute (Name or FriendlyName containing "mail"). */
function setIdentity(assertion: Element, nameId: string): void {
  const doc = assertion.ownerDocument;
  const replaceText = (el: Element): void => {
    clearChildren(el);
    el.appendChild(doc.createTextNode(nameId));
  };
  for (const el of Array.from(assertion.getElementsByTagNameNS(NS.assertion, 'NameID'))) {
    replaceText(el);
  }
  for (const attribute of Array.from(assertion.getElementsByTagNameNS(NS.assertion, 'Attribute'))) {
    const names = `${attribute.getAttribute('Name') ?? ''} ${attribute.getAttribute('FriendlyName') ?? ''}`;
    if (!/mail/i.test(names)) continue;
    for (const value of Array.from(
      attribute.getElementsByTagNameNS(NS.assertion, 'AttributeValue'),
    )) {
      replaceText(value);
    }
  }
}

// ---- Small utilities ----

function qualified(prefix: string | null, localName: string): string {
  return prefix ? `${prefix}:${localName}` : localName;
}

function randomId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/** IDs end up inside XPath literals and attributes: keep them NCName-like. */
function checkId(id: string): string {
  if (!/^[A-Za-z_][\w.-]*$/.test(id)) throw new Error(`unsupported ID ${JSON.stringify(id)}`);
  return id;
}

/** SAML wants UTC dateTime; milliseconds are allowed and harmless. */
function iso(date: Date): string {
  return date.toISOString();
}

function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(value: string): string {
  return text(value).replace(/"/g, '&quot;');
}

function isStringRecord(value: unknown): value is Record<string, string | string[]> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}
