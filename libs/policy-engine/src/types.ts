/** The policy document as users write it (JSON or YAML). */
export interface PolicyDocument {
  rules: RuleDocument[];
}

export interface RuleDocument {
  name: string;
  match?: MatchDocument;
  actions: ActionDocument[];
}

export interface MatchDocument {
  methods?: string[];
  paths?: string[];
  hosts?: string[];
  cidrs?: string[];
  headers?: { name: string; present?: boolean; equals?: string; regex?: string }[];
  query?: { name: string; present?: boolean; equals?: string }[];
}

export type ActionDocument =
  | { type: 'deny'; status?: number; body?: string }
  | { type: 'allow' }
  | { type: 'restrict-ips'; allow?: string[]; deny?: string[] }
  | { type: 'rate-limit'; capacity: number; window: string; key: string }
  | {
      type: 'basic-auth';
      realm?: string;
      credentials: { username: string; salt: string; sha256: string }[];
    }
  | { type: 'add-headers'; request?: Record<string, string>; response?: Record<string, string> }
  | { type: 'remove-headers'; request?: string[]; response?: string[] }
  | { type: 'custom-response'; status: number; headers?: Record<string, string>; body?: string }
  | { type: 'redirect'; to: string; status?: number }
  | { type: 'verify-webhook'; provider: string; secret: string; tolerance?: number };

/** Facts about one request, gathered by the ingress. Header names are lowercase. */
export interface RequestFacts {
  method: string;
  path: string;
  query: URLSearchParams | null;
  host: string;
  /** Real client address: the peer, or what a trusted proxy said; never a client-sent header. */
  clientIp: string;
  headers: Record<string, string | string[] | undefined>;
  apiKeyId?: string | null;
  tunnel: string;
  /** Raw body, present only when a verify-webhook rule made the ingress buffer it (up to its limit). */
  body?: Buffer;
  /** Full public URL of the request (Twilio signs it). */
  url?: string;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** I/O the engine needs, injected so it can be tested and benchmarked without Redis or a clock. */
export interface EngineDeps {
  rateLimit(key: string, capacity: number, windowMs: number): Promise<RateLimitResult>;
  /** Milliseconds since the epoch; injected so timestamp tolerances are testable. Defaults to Date.now. */
  now?(): number;
}

export interface Decision {
  /** 'forward': pass to the agent (with the header edits); 'respond': answer here with status/headers/body. */
  outcome: 'forward' | 'respond';
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** The rule and action that ended evaluation with a refusal, for block events. */
  blockedBy?: { rule: string; action: string; reason: string };
  matchedRules: string[];
  actionsRun: string[];
  requestHeaders: { set: Record<string, string>; remove: string[] };
  responseHeaders: { set: Record<string, string>; remove: string[] };
}
