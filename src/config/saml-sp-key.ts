import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface SpSigningKey {
  privateKeyPem: string;
  certPem: string;
}

/**
 * The SP's own key pair for signing AuthnRequests, read from SAML_SP_KEY_FILE and
 * SAML_SP_CERT_FILE: both or neither, an RSA key of at least 2048 bits, and the certificate must
 * be for that key. Problems come back as "KEY: reason" lines; the files' content never appears.
 */
export function readSpSigningKey(env: { SAML_SP_KEY_FILE?: string; SAML_SP_CERT_FILE?: string }): {
  key: SpSigningKey | null;
  problems: string[];
} {
  const { SAML_SP_KEY_FILE: keyFile, SAML_SP_CERT_FILE: certFile } = env;
  if (!keyFile && !certFile) return { key: null, problems: [] };
  if (!keyFile)
    return { key: null, problems: ['SAML_SP_KEY_FILE: must be set with SAML_SP_CERT_FILE'] };
  if (!certFile)
    return { key: null, problems: ['SAML_SP_CERT_FILE: must be set with SAML_SP_KEY_FILE'] };
  const problems: string[] = [];
  let privateKeyPem = '';
  let certPem = '';
  try {
    privateKeyPem = readFileSync(keyFile, 'utf8');
  } catch {
    problems.push('SAML_SP_KEY_FILE: cannot be read');
  }
  try {
    certPem = readFileSync(certFile, 'utf8');
  } catch {
    problems.push('SAML_SP_CERT_FILE: cannot be read');
  }
  if (problems.length > 0) return { key: null, problems };
  let cert: X509Certificate | null = null;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    problems.push('SAML_SP_CERT_FILE: is not a PEM X.509 certificate');
  }
  try {
    const key = createPrivateKey(privateKeyPem);
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== 'rsa' || bits < 2048) {
      problems.push('SAML_SP_KEY_FILE: must be an RSA key of at least 2048 bits');
    } else if (cert && !cert.checkPrivateKey(key)) {
      problems.push('SAML_SP_CERT_FILE: is not the certificate of SAML_SP_KEY_FILE');
    }
  } catch {
    problems.push('SAML_SP_KEY_FILE: is not a PEM private key (unencrypted PKCS#8 or PKCS#1)');
  }
  return problems.length > 0
    ? { key: null, problems }
    : { key: { privateKeyPem, certPem }, problems };
}
