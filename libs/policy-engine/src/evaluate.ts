import { createHash, timingSafeEqual } from 'node:crypto';
import type { CompiledAction, CompiledMatch, CompiledPolicy } from './compile';
import { inCidr, parseIp } from './ip';
import type { Decision, EngineDeps, RequestFacts } from './types';
import { verifyWebhook } from './webhooks';

function header(facts: RequestFacts, name: string): string | undefined {
  const v = facts.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function matches(m: CompiledMatch, facts: RequestFacts, addr: () => bigint | null): boolean {
  if (m.methods && !m.methods.has(facts.method)) return false;
  if (m.hosts && !m.hosts.has(facts.host)) {
    const dot = facts.host.indexOf('.');
    if (dot < 0 || !m.hosts.has(`*${facts.host.slice(dot)}`)) return false;
  }
  if (m.paths) {
    let any = false;
    for (const re of m.paths)
      if (re.test(facts.path)) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  if (m.cidrs) {
    const ip = addr();
    if (ip === null) return false;
    let any = false;
    for (const c of m.cidrs)
      if (inCidr(ip, c)) {
        any = true;
        break;
      }
    if (!any) return false;
  }
  for (const h of m.headers) {
    const v = header(facts, h.name);
    if (h.present !== undefined && (v !== undefined) !== h.present) return false;
    if (h.equals !== undefined && v !== h.equals) return false;
    if (h.regex !== undefined && (v === undefined || !h.regex.test(v))) return false;
  }
  for (const q of m.query) {
    const v = facts.query?.get(q.name) ?? undefined;
    if (q.present !== undefined && (v !== undefined) !== q.present) return false;
    if (q.equals !== undefined && v !== q.equals) return false;
  }
  return true;
}

function basicAuthOk(
  action: Extract<CompiledAction, { type: 'basic-auth' }>,
  value: string | undefined,
): boolean {
  const m = value ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value) : null;
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const cred = action.credentials.get(decoded.slice(0, colon));
  // Hash even for unknown users so timing does not reveal which usernames exist.
  const digest = createHash('sha256')
    .update(cred?.salt ?? '')
    .update(decoded.slice(colon + 1))
    .digest();
  return cred !== undefined && timingSafeEqual(digest, cred.sha256);
}

const EMPTY_SET: Record<string, string> = {};

/**
 * Runs a compiled policy against one request. Pure apart from the injected rate limiter: the
 * same code answers the ingress and the simulate endpoint.
 */
export async function evaluate(
  policy: CompiledPolicy,
  facts: RequestFacts,
  deps: EngineDeps,
): Promise<Decision> {
  const d: Decision = {
    outcome: 'forward',
    matchedRules: [],
    actionsRun: [],
    requestHeaders: { set: EMPTY_SET, remove: [] },
    responseHeaders: { set: EMPTY_SET, remove: [] },
  };
  // Parsed only when a rule needs it: most requests never look at the address.
  let parsed: bigint | null | undefined;
  const addr = () => (parsed === undefined ? (parsed = parseIp(facts.clientIp)) : parsed);
  const respond = (
    rule: string,
    action: string,
    status: number,
    body: string,
    headers: Record<string, string>,
    reason?: string,
  ): Decision => {
    d.outcome = 'respond';
    d.status = status;
    d.body = body;
    d.headers = headers;
    if (reason) d.blockedBy = { rule, action, reason };
    return d;
  };
  for (const rule of policy.rules) {
    if (!matches(rule.match, facts, addr)) continue;
    d.matchedRules.push(rule.name);
    for (const a of rule.actions) {
      d.actionsRun.push(`${rule.name}:${a.type}`);
      switch (a.type) {
        case 'deny':
          return respond(rule.name, a.type, a.status, a.body, {}, 'denied');
        case 'allow':
          return d;
        case 'restrict-ips': {
          const ip = addr();
          const denied =
            ip === null ||
            a.deny.some((c) => inCidr(ip, c)) ||
            (a.allow.length > 0 && !a.allow.some((c) => inCidr(ip, c)));
          if (denied)
            return respond(rule.name, a.type, 403, 'Forbidden', {}, 'address not allowed');
          break;
        }
        case 'rate-limit': {
          const k =
            a.key === 'ip'
              ? facts.clientIp
              : a.key === 'tunnel'
                ? facts.tunnel
                : a.key === 'api-key'
                  ? (facts.apiKeyId ?? 'none')
                  : (header(facts, a.key.header) ?? '');
          const r = await deps.rateLimit(`${rule.name}\u0000${k}`, a.capacity, a.windowMs);
          if (!r.allowed) {
            return respond(
              rule.name,
              a.type,
              429,
              'Too Many Requests',
              {
                'retry-after': String(r.resetSeconds),
                'ratelimit-limit': String(r.limit),
                'ratelimit-remaining': '0',
                'ratelimit-reset': String(r.resetSeconds),
              },
              'rate limit exceeded',
            );
          }
          break;
        }
        case 'basic-auth':
          if (!basicAuthOk(a, header(facts, 'authorization'))) {
            return respond(
              rule.name,
              a.type,
              401,
              'Unauthorized',
              { 'www-authenticate': `Basic realm="${a.realm}", charset="UTF-8"` },
              'basic auth failed',
            );
          }
          d.requestHeaders.remove.push('authorization');
          break;
        case 'add-headers':
          d.requestHeaders.set = { ...d.requestHeaders.set, ...a.request };
          d.responseHeaders.set = { ...d.responseHeaders.set, ...a.response };
          break;
        case 'remove-headers':
          d.requestHeaders.remove.push(...a.request);
          d.responseHeaders.remove.push(...a.response);
          break;
        case 'verify-webhook': {
          const result = facts.body
            ? verifyWebhook(a.provider, a.secret, a.toleranceSeconds, {
                headers: facts.headers,
                body: facts.body,
                url: facts.url ?? '',
                nowSeconds: Math.floor((deps.now?.() ?? Date.now()) / 1000),
              })
            : ({ ok: false, reason: 'body not available' } as const);
          if (!result.ok)
            return respond(
              rule.name,
              a.type,
              401,
              'Invalid webhook signature',
              {},
              `webhook ${result.reason}`,
            );
          break;
        }
        case 'custom-response':
          return respond(rule.name, a.type, a.status, a.body, a.headers);
        case 'redirect':
          return respond(rule.name, a.type, a.status, '', { location: a.to });
      }
    }
  }
  return d;
}
