import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * API key format: `it_` + 12-char public id + 32-char secret + 6-char checksum, all base62.
 * The fixed prefix lets secret scanners find leaked keys; the CRC32 checksum rejects typos
 * and random guesses without touching the database (GitHub's token format idea).
 */
export const API_KEY_PREFIX = 'it_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PUBLIC_ID_LEN = 12;
const SECRET_LEN = 32;
const CHECKSUM_LEN = 6;
const BODY_LEN = PUBLIC_ID_LEN + SECRET_LEN;
export const API_KEY_PATTERN = new RegExp(
  `^${API_KEY_PREFIX}[0-9A-Za-z]{${BODY_LEN + CHECKSUM_LEN}}$`,
);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(input: string): number {
  let crc = 0xffffffff;
  const bytes = Buffer.from(input, 'utf8');
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function base62(n: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomBase62(len: number): string {
  let out = '';
  for (let i = 0; i < len; i++) out += ALPHABET[randomInt(62)];
  return out;
}

export interface ParsedApiKey {
  publicId: string;
  secretHash: string;
}

export type ApiKeyParseError = 'malformed' | 'checksum';

export function generateApiKey(): { token: string; publicId: string; secretHash: string } {
  const publicId = randomBase62(PUBLIC_ID_LEN);
  const body = publicId + randomBase62(SECRET_LEN);
  const token = API_KEY_PREFIX + body + base62(crc32(body), CHECKSUM_LEN);
  return { token, publicId, secretHash: hashApiKey(token) };
}

export function hashApiKey(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function parseApiKey(token: string): ParsedApiKey | ApiKeyParseError {
  if (!API_KEY_PATTERN.test(token)) return 'malformed';
  const body = token.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + BODY_LEN);
  const checksum = token.slice(API_KEY_PREFIX.length + BODY_LEN);
  if (base62(crc32(body), CHECKSUM_LEN) !== checksum) return 'checksum';
  return { publicId: body.slice(0, PUBLIC_ID_LEN), secretHash: hashApiKey(token) };
}

export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
