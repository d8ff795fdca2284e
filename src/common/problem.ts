/** Stable problem kinds (RFC 9457 `type` = PROBLEM_BASE + kind). The README lists them. */
export const PROBLEMS = {
  'validation-error': { status: 400, title: 'The request is not valid' },
  'malformed-body': { status: 400, title: 'The request body could not be parsed' },
  'token-invalid': { status: 400, title: 'The token is not valid' },
  'invalid-tunnel-name': { status: 400, title: 'The tunnel name is not allowed' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  'invalid-credentials': { status: 401, title: 'Email or password is wrong' },
  'invalid-api-key': { status: 401, title: 'The API key is not valid' },
  'session-expired': { status: 401, title: 'The session has expired' },
  'email-not-verified': { status: 403, title: 'The email address is not verified yet' },
  'insufficient-scope': { status: 403, title: 'The credential lacks a required scope' },
  'scope-escalation': { status: 403, title: "Requested scopes exceed the creator's scopes" },
  'admin-required': { status: 403, title: 'A platform administrator session is required' },
  'sso-required': { status: 403, title: 'This org requires single sign-on' },
  'sso-failed': { status: 401, title: 'Single sign-on failed' },
  forbidden: { status: 403, title: 'This action is not allowed' },
  'not-found': { status: 404, title: 'Not found' },
  'sso-not-configured': { status: 404, title: 'This org has no SAML connection' },
  'slug-taken': { status: 409, title: 'The slug is already taken' },
  'policy-exists': { status: 409, title: 'That target already has a policy' },
  'last-owner': { status: 409, title: 'An org must keep at least one owner' },
  'already-member': { status: 409, title: 'The user is already a member of this org' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  'tunnel-name-taken': { status: 409, title: 'The tunnel name belongs to another org' },
  'domain-taken': { status: 409, title: 'The domain is verified by another org' },
  'token-used': { status: 410, title: 'The token has already been used' },
  'invalid-policy': { status: 422, title: 'The policy document is not valid' },
  'invalid-saml-config': { status: 422, title: 'The SAML configuration is not valid' },
  'domain-not-verified': { status: 422, title: 'The domain could not be verified' },
  'token-expired': { status: 410, title: 'The token has expired' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request content type is not supported' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'tunnel-quota-exceeded': { status: 429, title: 'The org has reached its tunnel quota' },
  'internal-error': { status: 500, title: 'Internal server error' },
  'service-unavailable': { status: 503, title: 'A dependency is unavailable' },
} as const;

export type ProblemKind = keyof typeof PROBLEMS;

export const PROBLEM_BASE = 'https://instatunnel.dev/problems/';

export interface FieldError {
  field: string;
  messages: string[];
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problemType(kind: ProblemKind): string {
  return PROBLEM_BASE + kind;
}

export function buildProblem(
  kind: ProblemKind,
  detail: string | undefined,
  instance: string | undefined,
  requestId: string | undefined,
  extra: Record<string, unknown> = {},
): ProblemDocument {
  const { status, title } = PROBLEMS[kind];
  const doc: ProblemDocument = { type: problemType(kind), title, status };
  if (detail) doc.detail = detail;
  if (instance) doc.instance = instance;
  if (requestId) doc.requestId = requestId;
  return Object.assign(doc, extra);
}
