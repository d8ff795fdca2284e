import { Cidr, parseCidr } from './ip';
import type { ActionDocument } from './types';
import { WEBHOOK_PROVIDERS, WebhookProvider } from './webhooks';

export interface PolicyError {
  path: string;
  message: string;
}

export interface CompiledMatch {
  methods: Set<string> | null;
  paths: RegExp[] | null;
  hosts: Set<string> | null;
  cidrs: Cidr[] | null;
  headers: { name: string; present?: boolean; equals?: string; regex?: RegExp }[];
  query: { name: string; present?: boolean; equals?: string }[];
}

export type CompiledAction =
  | { type: 'deny'; status: number; body: string }
  | { type: 'allow' }
  | { type: 'restrict-ips'; allow: Cidr[]; deny: Cidr[] }
  | {
      type: 'rate-limit';
      capacity: number;
      windowMs: number;
      key: 'ip' | 'tunnel' | 'api-key' | { header: string };
    }
  | {
      type: 'basic-auth';
      realm: string;
      credentials: Map<string, { salt: string; sha256: Buffer }>;
    }
  | { type: 'add-headers'; request: Record<string, string>; response: Record<string, string> }
  | { type: 'remove-headers'; request: string[]; response: string[] }
  | { type: 'custom-response'; status: number; headers: Record<string, string>; body: string }
  | { type: 'redirect'; to: string; status: number }
  | { type: 'verify-webhook'; provider: WebhookProvider; secret: string; toleranceSeconds: number };

export interface CompiledRule {
  name: string;
  match: CompiledMatch;
  actions: CompiledAction[];
}

export interface CompiledPolicy {
  rules: CompiledRule[];
}

export const LIMITS = {
  rules: 200,
  actionsPerRule: 20,
  listItems: 500,
  regexLength: 256,
  stringLength: 8192,
};

const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,128}$/;
const HOST = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ACTIONS = [
  'deny',
  'allow',
  'restrict-ips',
  'rate-limit',
  'basic-auth',
  'verify-webhook',
  'add-headers',
  'remove-headers',
  'custom-response',
  'redirect',
];

/** `*` = one path segment, `**` = anything, `?` = one character; anchored. */
export function globToRegExp(glob: string): RegExp {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${out}$`);
}

/** `30s`, `5m`, `1h`, `1d` → milliseconds. */
export function parseWindow(raw: string): number | null {
  const m = /^(\d{1,6})(ms|s|m|h|d)$/.exec(raw);
  if (!m) return null;
  const n =
    Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']!;
  return n >= 1000 && n <= 86_400_000 ? n : null;
}

/** Validates and compiles in one pass; every problem is reported with its JSON path, nothing throws. */
export function compilePolicy(
  doc: unknown,
): { policy: CompiledPolicy; errors: [] } | { policy: null; errors: PolicyError[] } {
  const errors: PolicyError[] = [];
  const err = (path: string, message: string) => {
    if (errors.length < 200) errors.push({ path, message });
  };
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const only = (o: Record<string, unknown>, path: string, keys: string[]) => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) err(`${path}.${k}`, 'unknown field');
  };
  const str = (v: unknown, path: string, max = LIMITS.stringLength): string | null => {
    if (typeof v !== 'string') return (err(path, 'must be a string'), null);
    if (v.length > max) return (err(path, `must be at most ${max} characters`), null);
    return v;
  };
  const list = (v: unknown, path: string): unknown[] | null => {
    if (!Array.isArray(v)) return (err(path, 'must be an array'), null);
    if (v.length > LIMITS.listItems)
      return (err(path, `must have at most ${LIMITS.listItems} items`), null);
    return v;
  };
  const status = (
    v: unknown,
    path: string,
    allowed: (n: number) => boolean,
    what: string,
  ): number | null => {
    if (typeof v !== 'number' || !Number.isInteger(v) || !allowed(v))
      return (err(path, `must be ${what}`), null);
    return v;
  };
  const headerMap = (v: unknown, path: string): Record<string, string> => {
    const out: Record<string, string> = {};
    if (v === undefined) return out;
    if (!isObj(v)) return (err(path, 'must be an object of header names to values'), out);
    for (const [k, val] of Object.entries(v)) {
      const name = k.toLowerCase();
      if (!TOKEN.test(name)) err(`${path}.${k}`, 'is not a valid header name');
      else if (typeof val !== 'string' || /[\r\n\0]/.test(val) || val.length > LIMITS.stringLength)
        err(`${path}.${k}`, 'must be a single-line string');
      else out[name] = val;
    }
    return out;
  };
  const headerList = (v: unknown, path: string): string[] =>
    v === undefined
      ? []
      : (list(v, path) ?? []).flatMap((h, i) => {
          if (typeof h !== 'string' || !TOKEN.test(h.toLowerCase()))
            return (err(`${path}[${i}]`, 'is not a valid header name'), []);
          return [h.toLowerCase()];
        });
  const cidrList = (v: unknown, path: string): Cidr[] =>
    v === undefined
      ? []
      : (list(v, path) ?? []).flatMap((c, i) => {
          const parsed = typeof c === 'string' ? parseCidr(c) : null;
          if (!parsed) return (err(`${path}[${i}]`, 'is not an IPv4/IPv6 address or CIDR'), []);
          return [parsed];
        });

  if (!isObj(doc))
    return { policy: null, errors: [{ path: '$', message: 'must be an object with "rules"' }] };
  only(doc, '$', ['rules']);
  const rulesRaw = list(doc.rules, '$.rules');
  const rules: CompiledRule[] = [];
  if (rulesRaw && rulesRaw.length > LIMITS.rules)
    err('$.rules', `must have at most ${LIMITS.rules} rules`);
  const names = new Set<string>();
  (rulesRaw ?? []).slice(0, LIMITS.rules).forEach((r, ri) => {
    const rp = `$.rules[${ri}]`;
    if (!isObj(r)) return err(rp, 'must be an object');
    only(r, rp, ['name', 'match', 'actions']);
    const name = str(r.name, `${rp}.name`, 100);
    if (name !== null) {
      if (!name.trim()) err(`${rp}.name`, 'must not be empty');
      if (names.has(name)) err(`${rp}.name`, 'must be unique');
      names.add(name);
    }
    const match: CompiledMatch = {
      methods: null,
      paths: null,
      hosts: null,
      cidrs: null,
      headers: [],
      query: [],
    };
    if (r.match !== undefined) {
      const mp = `${rp}.match`;
      const m = r.match;
      if (!isObj(m)) err(mp, 'must be an object');
      else {
        only(m, mp, ['methods', 'paths', 'hosts', 'cidrs', 'headers', 'query']);
        if (m.methods !== undefined) {
          match.methods = new Set(
            (list(m.methods, `${mp}.methods`) ?? []).flatMap((x, i) => {
              const up = typeof x === 'string' ? x.toUpperCase() : '';
              if (!METHODS.has(up))
                return (
                  err(`${mp}.methods[${i}]`, `must be one of ${[...METHODS].join(', ')}`),
                  []
                );
              return [up];
            }),
          );
        }
        if (m.paths !== undefined) {
          match.paths = (list(m.paths, `${mp}.paths`) ?? []).flatMap((x, i) => {
            const p = str(x, `${mp}.paths[${i}]`, 1024);
            if (p === null) return [];
            if (!p.startsWith('/')) return (err(`${mp}.paths[${i}]`, 'must start with /'), []);
            return [globToRegExp(p)];
          });
        }
        if (m.hosts !== undefined) {
          match.hosts = new Set(
            (list(m.hosts, `${mp}.hosts`) ?? []).flatMap((x, i) => {
              const h = typeof x === 'string' ? x.toLowerCase() : '';
              if (!HOST.test(h)) return (err(`${mp}.hosts[${i}]`, 'must be a host name'), []);
              return [h];
            }),
          );
        }
        if (m.cidrs !== undefined) match.cidrs = cidrList(m.cidrs, `${mp}.cidrs`);
        for (const [field, target] of [
          ['headers', match.headers],
          ['query', match.query],
        ] as const) {
          if (m[field] === undefined) continue;
          (list(m[field], `${mp}.${field}`) ?? []).forEach((h, i) => {
            const hp = `${mp}.${field}[${i}]`;
            if (!isObj(h)) return err(hp, 'must be an object');
            only(
              h,
              hp,
              field === 'headers'
                ? ['name', 'present', 'equals', 'regex']
                : ['name', 'present', 'equals'],
            );
            const hn = str(h.name, `${hp}.name`, 128);
            if (hn === null) return;
            if (field === 'headers' && !TOKEN.test(hn.toLowerCase()))
              return err(`${hp}.name`, 'is not a valid header name');
            const cond: CompiledMatch['headers'][number] = {
              name: field === 'headers' ? hn.toLowerCase() : hn,
            };
            if (h.present !== undefined) {
              if (typeof h.present !== 'boolean') err(`${hp}.present`, 'must be true or false');
              else cond.present = h.present;
            }
            if (h.equals !== undefined) {
              const e = str(h.equals, `${hp}.equals`);
              if (e !== null) cond.equals = e;
            }
            if (field === 'headers' && h.regex !== undefined) {
              const re = str(h.regex, `${hp}.regex`, LIMITS.regexLength);
              if (re !== null) {
                // Nested quantifiers are the classic catastrophic-backtracking shape: refuse them.
                if (/\([^)]*[+*][^)]*\)[+*{]/.test(re))
                  err(`${hp}.regex`, 'nested quantifiers are not allowed');
                else {
                  try {
                    cond.regex = new RegExp(re);
                  } catch {
                    err(`${hp}.regex`, 'is not a valid regular expression');
                  }
                }
              }
            }
            if (cond.present === undefined && cond.equals === undefined && cond.regex === undefined)
              cond.present = true;
            (target as CompiledMatch['headers']).push(cond);
          });
        }
      }
    }
    const actions: CompiledAction[] = [];
    const actionsRaw = list(r.actions, `${rp}.actions`);
    if (actionsRaw && actionsRaw.length === 0) err(`${rp}.actions`, 'must not be empty');
    if (actionsRaw && actionsRaw.length > LIMITS.actionsPerRule)
      err(`${rp}.actions`, `must have at most ${LIMITS.actionsPerRule} actions`);
    (actionsRaw ?? []).slice(0, LIMITS.actionsPerRule).forEach((a, ai) => {
      const ap = `${rp}.actions[${ai}]`;
      if (!isObj(a)) return err(ap, 'must be an object');
      const type = a.type as ActionDocument['type'];
      if (!ACTIONS.includes(type)) return err(`${ap}.type`, `must be one of ${ACTIONS.join(', ')}`);
      switch (type) {
        case 'deny': {
          only(a, ap, ['type', 'status', 'body']);
          const s =
            a.status === undefined
              ? 403
              : status(
                  a.status,
                  `${ap}.status`,
                  (n) => n >= 400 && n <= 599,
                  'a 4xx or 5xx status',
                );
          const body = a.body === undefined ? '' : str(a.body, `${ap}.body`);
          if (s !== null && body !== null) actions.push({ type, status: s, body });
          break;
        }
        case 'allow':
          only(a, ap, ['type']);
          actions.push({ type });
          break;
        case 'restrict-ips': {
          only(a, ap, ['type', 'allow', 'deny']);
          const allow = cidrList(a.allow, `${ap}.allow`);
          const deny = cidrList(a.deny, `${ap}.deny`);
          if (a.allow === undefined && a.deny === undefined) err(ap, 'needs allow or deny');
          actions.push({ type, allow, deny });
          break;
        }
        case 'rate-limit': {
          only(a, ap, ['type', 'capacity', 'window', 'key']);
          const capacity = status(
            a.capacity,
            `${ap}.capacity`,
            (n) => n >= 1 && n <= 1_000_000,
            'an integer from 1 to 1000000',
          );
          const windowMs = typeof a.window === 'string' ? parseWindow(a.window) : null;
          if (windowMs === null)
            err(`${ap}.window`, 'must be a duration from 1s to 1d, like 30s, 5m, 1h');
          const rawKey = a.key ?? 'ip';
          let key: Extract<CompiledAction, { type: 'rate-limit' }>['key'] | null = null;
          if (rawKey === 'ip' || rawKey === 'tunnel' || rawKey === 'api-key') key = rawKey;
          else if (
            typeof rawKey === 'string' &&
            rawKey.startsWith('header:') &&
            TOKEN.test(rawKey.slice(7).toLowerCase())
          ) {
            key = { header: rawKey.slice(7).toLowerCase() };
          } else err(`${ap}.key`, 'must be ip, tunnel, api-key or header:<name>');
          if (capacity !== null && windowMs !== null && key !== null)
            actions.push({ type, capacity, windowMs, key });
          break;
        }
        case 'basic-auth': {
          only(a, ap, ['type', 'realm', 'credentials']);
          const realm = a.realm === undefined ? 'InstaTunnel' : str(a.realm, `${ap}.realm`, 100);
          const creds = new Map<string, { salt: string; sha256: Buffer }>();
          (list(a.credentials, `${ap}.credentials`) ?? []).forEach((c, ci) => {
            const cp = `${ap}.credentials[${ci}]`;
            if (!isObj(c)) return err(cp, 'must be an object');
            only(c, cp, ['username', 'salt', 'sha256']);
            const u = str(c.username, `${cp}.username`, 128);
            const salt = str(c.salt, `${cp}.salt`, 128);
            if (u !== null && u.includes(':')) err(`${cp}.username`, 'must not contain ":"');
            if (typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256))
              err(`${cp}.sha256`, 'must be a lowercase hex SHA-256');
            else if (u !== null && salt !== null && !u.includes(':'))
              creds.set(u, { salt, sha256: Buffer.from(c.sha256, 'hex') });
          });
          if (Array.isArray(a.credentials) && a.credentials.length === 0)
            err(`${ap}.credentials`, 'must not be empty');
          if (realm !== null && /["\r\n]/.test(realm))
            err(`${ap}.realm`, 'must not contain quotes or line breaks');
          else if (realm !== null) actions.push({ type, realm, credentials: creds });
          break;
        }
        case 'add-headers':
          only(a, ap, ['type', 'request', 'response']);
          actions.push({
            type,
            request: headerMap(a.request, `${ap}.request`),
            response: headerMap(a.response, `${ap}.response`),
          });
          break;
        case 'remove-headers':
          only(a, ap, ['type', 'request', 'response']);
          actions.push({
            type,
            request: headerList(a.request, `${ap}.request`),
            response: headerList(a.response, `${ap}.response`),
          });
          break;
        case 'custom-response': {
          only(a, ap, ['type', 'status', 'headers', 'body']);
          const s = status(
            a.status,
            `${ap}.status`,
            (n) => n >= 200 && n <= 599,
            'a status from 200 to 599',
          );
          const body = a.body === undefined ? '' : str(a.body, `${ap}.body`);
          const headers = headerMap(a.headers, `${ap}.headers`);
          if (s !== null && body !== null) actions.push({ type, status: s, headers, body });
          break;
        }
        case 'verify-webhook': {
          only(a, ap, ['type', 'provider', 'secret', 'tolerance']);
          const provider = a.provider as WebhookProvider;
          if (!WEBHOOK_PROVIDERS.includes(provider))
            err(`${ap}.provider`, `must be one of ${WEBHOOK_PROVIDERS.join(', ')}`);
          const secret = str(a.secret, `${ap}.secret`, 512);
          if (secret !== null && secret.length < 8)
            err(`${ap}.secret`, 'must be at least 8 characters');
          const tolerance =
            a.tolerance === undefined
              ? 300
              : status(
                  a.tolerance,
                  `${ap}.tolerance`,
                  (n) => n >= 1 && n <= 86_400,
                  'seconds from 1 to 86400',
                );
          if (
            WEBHOOK_PROVIDERS.includes(provider) &&
            secret !== null &&
            secret.length >= 8 &&
            tolerance !== null
          ) {
            actions.push({ type, provider, secret, toleranceSeconds: tolerance });
          }
          break;
        }
        case 'redirect': {
          only(a, ap, ['type', 'to', 'status']);
          const to = str(a.to, `${ap}.to`, 2048);
          if (to !== null && !/^(https?:\/\/[^\s]+|\/[^\s]*)$/.test(to))
            err(`${ap}.to`, 'must be an http(s) URL or a path starting with /');
          const s =
            a.status === undefined
              ? 302
              : status(
                  a.status,
                  `${ap}.status`,
                  (n) => [301, 302, 303, 307, 308].includes(n),
                  'one of 301, 302, 303, 307, 308',
                );
          if (to !== null && s !== null) actions.push({ type, to, status: s });
          break;
        }
      }
    });
    if (name !== null) rules.push({ name, match, actions });
  });
  if (errors.length) return { policy: null, errors };
  return { policy: { rules }, errors: [] };
}
