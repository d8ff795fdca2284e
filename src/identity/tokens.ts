import { createHash, randomBytes } from 'node:crypto';

/** One-time tokens (email verification, invitations): 256 random bits, stored only as SHA-256. */
export function newOneTimeToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const ONE_TIME_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
