import { randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';

/** WebSocket path the agent dials; auth, scope, quota and name are checked before the upgrade. */
export const CONNECT_PATH = '/v1/tunnels/connect';

/** Request headers the agent sends with the upgrade. */
export const NAME_HEADER = 'x-instatunnel-name';
export const AGENT_VERSION_HEADER = 'x-instatunnel-agent';
/** Response headers on the 101 that tell the agent what it got. */
export const URL_HEADER = 'x-instatunnel-url';
export const TUNNEL_ID_HEADER = 'x-instatunnel-tunnel-id';

/** HTTP/2 tuning shared by both ends: large windows so one stream can fill the link. */
export const H2_SETTINGS = {
  initialWindowSize: 4 * 1024 * 1024,
  maxFrameSize: 256 * 1024,
  maxConcurrentStreams: 1000,
  maxHeaderListSize: 64 * 1024,
};
export const H2_SESSION_WINDOW = 32 * 1024 * 1024;

/** Hop-by-hop (RFC 9110 §7.6.1) plus the ones HTTP/2 forbids; never forwarded in either direction. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

/** Tunnel names are one DNS label: 3-63 chars of a-z, 0-9 and inner hyphens. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;

/** Names that would impersonate the platform or common infrastructure. */
export const RESERVED_WORDS = new Set([
  'admin',
  'api',
  'app',
  'auth',
  'dashboard',
  'docs',
  'ftp',
  'imap',
  'internal',
  'instatunnel',
  'login',
  'mail',
  'metrics',
  'mx',
  'ns',
  'ns1',
  'ns2',
  'pop',
  'root',
  'saml',
  'smtp',
  'sso',
  'static',
  'status',
  'support',
  'system',
  'tunnel',
  'tunnels',
  'webmail',
  'www',
]);

export type NameProblem = 'invalid' | 'reserved';

export function checkName(name: string): NameProblem | null {
  if (!NAME_PATTERN.test(name) || name.includes('--')) return 'invalid';
  if (RESERVED_WORDS.has(name)) return 'reserved';
  return null;
}

const ADJECTIVES = [
  'amber',
  'brave',
  'calm',
  'clever',
  'crisp',
  'eager',
  'fancy',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lively',
  'lucky',
  'mellow',
  'nimble',
  'proud',
  'quick',
  'quiet',
  'rapid',
  'shiny',
  'silent',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'witty',
  'bold',
  'cosmic',
  'frosty',
  'golden',
];
const NOUNS = [
  'badger',
  'beacon',
  'breeze',
  'canyon',
  'comet',
  'falcon',
  'fjord',
  'forest',
  'harbor',
  'heron',
  'lagoon',
  'lantern',
  'maple',
  'meadow',
  'meteor',
  'otter',
  'panda',
  'pebble',
  'pine',
  'quartz',
  'raven',
  'river',
  'summit',
  'thunder',
  'tiger',
  'tundra',
  'valley',
  'walrus',
  'willow',
  'zephyr',
];

/** `swift-otter-3f9a`: easy to read aloud, 30*30*65536 ≈ 59 M combinations. */
export function friendlyName(): string {
  const suffix = randomInt(0, 0x10000).toString(16).padStart(4, '0');
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${suffix}`;
}

/** Copies headers, dropping hop-by-hop ones and those named in `Connection`. */
export function forwardableHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connection = headers.connection;
  const named = connection
    ? String(connection)
        .toLowerCase()
        .split(',')
        .map((s) => s.trim())
    : [];
  for (const key in headers) {
    if (key.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(key)) continue;
    if (named.length && named.includes(key)) continue;
    const v = headers[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * The byte stream HTTP/2 runs on: ws's createWebSocketStream plus a `_writev`, so the frames
 * nghttp2 queues while a send is in flight leave as one WebSocket message (one mask, one syscall)
 * instead of one message per frame.
 */
export function tunnelStream(ws: WebSocket, highWaterMark = 1024 * 1024): Duplex {
  const duplex = createWebSocketStream(ws, { highWaterMark });
  (duplex as Duplex & { _writev: Duplex['_writev'] })._writev = (chunks, callback) => {
    const data =
      chunks.length === 1
        ? (chunks[0].chunk as Buffer)
        : Buffer.concat(chunks.map((c) => c.chunk as Buffer));
    ws.send(data, callback);
  };
  return duplex;
}
