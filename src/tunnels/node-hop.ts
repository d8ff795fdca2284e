import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header that marks a request forwarded by another node: `<ts>.<hmac>`, HMAC over ts, method, host, path. */
export const HOP_HEADER = 'x-instatunnel-hop';
const MAX_SKEW_MS = 30_000;

function mac(secret: string, ts: string, method: string, host: string, path: string): Buffer {
  return createHmac('sha256', secret).update(`${ts}\n${method}\n${host}\n${path}`).digest();
}

export function signHop(
  secret: string,
  method: string,
  host: string,
  path: string,
  now = Date.now(),
): string {
  const ts = String(now);
  return `${ts}.${mac(secret, ts, method, host, path).toString('base64url')}`;
}

export function verifyHop(
  secret: string,
  value: string,
  method: string,
  host: string,
  path: string,
  now = Date.now(),
): boolean {
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const ts = value.slice(0, dot);
  const t = Number(ts);
  if (!Number.isFinite(t) || Math.abs(now - t) > MAX_SKEW_MS) return false;
  const given = Buffer.from(value.slice(dot + 1), 'base64url');
  const want = mac(secret, ts, method, host, path);
  return given.length === want.length && timingSafeEqual(given, want);
}
