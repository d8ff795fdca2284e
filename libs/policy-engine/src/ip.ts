import { isIPv4, isIPv6 } from 'node:net';

/** An address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96), so one comparison serves both families. */
export function parseIp(raw: string): bigint | null {
  let s = raw.trim();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return 0xffff00000000n | ipv4(s);
  if (!isIPv6(s)) return null;
  // IPv6 with a dotted IPv4 tail (::ffff:1.2.3.4): convert the tail to two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4(tail);
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  if (groups.length !== 8) return null;
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

function ipv4(s: string): bigint {
  return s.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

export interface Cidr {
  base: bigint;
  mask: bigint;
  source: string;
}

const ALL = (1n << 128n) - 1n;

/** `10.0.0.0/8`, `2001:db8::/32`, a bare address (= /32 or /128); IPv4 prefixes map into ::ffff:0:0/96. */
export function parseCidr(raw: string): Cidr | null {
  const [addr, bits, extra] = raw.trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIp(addr);
  if (ip === null) return null;
  const v4 = isIPv4(addr.trim());
  const max = v4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  const len = v4 ? prefix + 96 : prefix;
  const mask = len === 0 ? 0n : (ALL << BigInt(128 - len)) & ALL;
  return { base: ip & mask, mask, source: raw.trim() };
}

export function inCidr(ip: bigint, c: Cidr): boolean {
  return (ip & c.mask) === c.base;
}
