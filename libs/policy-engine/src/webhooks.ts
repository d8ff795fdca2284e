import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_PROVIDERS = [
  'stripe',
  'github',
  'slack',
  'twilio',
  'shopify',
  'standard-webhooks',
] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

export interface WebhookInput {
  /** Lowercase names; a header sent twice arrives as an array (node's headersDistinct). */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes, exactly as received. */
  body: Buffer;
  /** The full public URL the provider called (Twilio signs it). */
  url: string;
  nowSeconds: number;
}

export type WebhookFailure =
  'missing-header' | 'duplicate-header' | 'malformed-header' | 'stale-timestamp' | 'bad-signature';
export type WebhookResult = { ok: true } | { ok: false; reason: WebhookFailure };

const fail = (reason: WebhookFailure): WebhookResult => ({ ok: false, reason });
const OK: WebhookResult = { ok: true };

function one(input: WebhookInput, name: string): string | WebhookFailure {
  const v = input.headers[name];
  if (v === undefined || v === '') return 'missing-header';
  if (Array.isArray(v)) return v.length === 1 ? v[0] : 'duplicate-header';
  return v;
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const hmac = (alg: 'sha256' | 'sha1', key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const h = createHmac(alg, key);
  for (const p of parts) h.update(p);
  return h.digest();
};

function fresh(ts: number, now: number, tolerance: number): boolean {
  return Number.isFinite(ts) && Math.abs(now - ts) <= tolerance;
}

/** Each provider exactly as it documents its scheme; every comparison is constant-time. */
export function verifyWebhook(
  provider: WebhookProvider,
  secret: string,
  toleranceSeconds: number,
  input: WebhookInput,
): WebhookResult {
  switch (provider) {
    case 'github': {
      const h = one(input, 'x-hub-signature-256');
      if (h === 'missing-header' || h === 'duplicate-header') return fail(h);
      const m = /^sha256=([0-9a-f]{64})$/.exec(h);
      if (!m) return fail('malformed-header');
      return safeEqual(Buffer.from(m[1], 'hex'), hmac('sha256', secret, input.body))
        ? OK
        : fail('bad-signature');
    }
    case 'shopify': {
      const h = one(input, 'x-shopify-hmac-sha256');
      if (h === 'missing-header' || h === 'duplicate-header') return fail(h);
      if (!/^[A-Za-z0-9+/]{43}=$/.test(h)) return fail('malformed-header');
      return safeEqual(Buffer.from(h, 'base64'), hmac('sha256', secret, input.body))
        ? OK
        : fail('bad-signature');
    }
    case 'slack': {
      const ts = one(input, 'x-slack-request-timestamp');
      const sig = one(input, 'x-slack-signature');
      for (const v of [ts, sig])
        if (v === 'missing-header' || v === 'duplicate-header') return fail(v);
      const m = /^v0=([0-9a-f]{64})$/.exec(sig);
      if (!m || !/^\d{1,12}$/.test(ts)) return fail('malformed-header');
      if (!fresh(Number(ts), input.nowSeconds, toleranceSeconds)) return fail('stale-timestamp');
      return safeEqual(Buffer.from(m[1], 'hex'), hmac('sha256', secret, `v0:${ts}:`, input.body))
        ? OK
        : fail('bad-signature');
    }
    case 'stripe': {
      const h = one(input, 'stripe-signature');
      if (h === 'missing-header' || h === 'duplicate-header') return fail(h);
      let t: string | undefined;
      const v1: Buffer[] = [];
      for (const part of h.split(',')) {
        const eq = part.indexOf('=');
        const k = part.slice(0, eq).trim();
        const v = part.slice(eq + 1).trim();
        if (k === 't') t = v;
        else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) v1.push(Buffer.from(v, 'hex'));
      }
      if (!t || !/^\d{1,12}$/.test(t) || v1.length === 0) return fail('malformed-header');
      if (!fresh(Number(t), input.nowSeconds, toleranceSeconds)) return fail('stale-timestamp');
      const want = hmac('sha256', secret, `${t}.`, input.body);
      return v1.some((s) => safeEqual(s, want)) ? OK : fail('bad-signature');
    }
    case 'twilio': {
      const h = one(input, 'x-twilio-signature');
      if (h === 'missing-header' || h === 'duplicate-header') return fail(h);
      if (!/^[A-Za-z0-9+/]{27}=$/.test(h)) return fail('malformed-header');
      let data = input.url;
      const url = new URL(input.url);
      const bodySha = url.searchParams.get('bodySHA256');
      if (bodySha !== null) {
        // JSON bodies: Twilio signs the URL (which carries the body's SHA-256) and nothing else.
        if (createHash('sha256').update(input.body).digest('hex') !== bodySha)
          return fail('bad-signature');
      } else {
        const params = new URLSearchParams(input.body.toString('utf8'));
        const keys = [...new Set(params.keys())].sort();
        for (const k of keys) for (const v of params.getAll(k).sort()) data += k + v;
      }
      return safeEqual(Buffer.from(h, 'base64'), hmac('sha1', secret, data))
        ? OK
        : fail('bad-signature');
    }
    case 'standard-webhooks': {
      const id = one(input, 'webhook-id');
      const ts = one(input, 'webhook-timestamp');
      const sig = one(input, 'webhook-signature');
      for (const v of [id, ts, sig])
        if (v === 'missing-header' || v === 'duplicate-header') return fail(v);
      if (!/^\d{1,12}$/.test(ts)) return fail('malformed-header');
      if (!fresh(Number(ts), input.nowSeconds, toleranceSeconds)) return fail('stale-timestamp');
      const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
      const want = hmac('sha256', key, `${id}.${ts}.`, input.body);
      const candidates = sig.split(' ').flatMap((s) => {
        const [version, value] = s.split(',');
        return version === 'v1' && value ? [Buffer.from(value, 'base64')] : [];
      });
      if (candidates.length === 0) return fail('malformed-header');
      return candidates.some((c) => safeEqual(c, want)) ? OK : fail('bad-signature');
    }
  }
}
