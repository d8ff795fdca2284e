import type { Scope } from './roles';

export interface AuthUser {
  id: string;
  email: string;
  emailVerified: boolean;
  isPlatformAdmin: boolean;
}

export interface SessionPrincipal {
  kind: 'session';
  user: AuthUser;
  sessionKey: string;
  /** The org whose SAML SSO started this session, if any. */
  ssoOrgId: string | null;
}

export interface ApiKeyPrincipal {
  kind: 'api_key';
  user: AuthUser;
  apiKey: { id: string; orgId: string; scopes: Scope[] };
}

export type Principal = SessionPrincipal | ApiKeyPrincipal;

/**
 * The one org a credential is confined to: an API key's org, or the org whose SAML login started
 * the session (an org's IdP speaks for that org only, never for the user's other orgs). Null for
 * a password session.
 */
export function orgScopeOf(principal: Principal): string | null {
  return principal.kind === 'api_key' ? principal.apiKey.orgId : principal.ssoOrgId;
}

/** What the org guards resolved for this request: the caller's effective access to one org. */
export interface OrgAccess {
  orgId: string;
  role: import('./roles').Role;
  scopes: ReadonlySet<Scope>;
}
