/** Where the browser lands after SSO when the login named no page. */
export const DEFAULT_AFTER_LOGIN = '/v1/me';

const BASE = 'https://relay.invalid';

/**
 * A same-site path or null: starts with one "/", no scheme, no "//" or "\" tricks, no control
 * characters, and resolving it against any origin keeps that origin. Checked when the login starts
 * and again at the ACS (the IdP echoes RelayState back, and IdP-initiated logins choose their own).
 */
export function safeRelayPath(input: unknown): string | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > 512) return null;
  if (!input.startsWith('/') || input.startsWith('//') || input.startsWith('/\\')) return null;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(input)) return null;
  let url: URL;
  try {
    url = new URL(input, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  const path = url.pathname + url.search + url.hash;
  // Dot segments can collapse into a scheme-relative "//host" (e.g. "/.//evil.example").
  if (path.startsWith('//') || path.startsWith('/\\')) return null;
  return path;
}
