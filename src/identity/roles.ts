export const SCOPES = [
  'org:read',
  'org:write',
  'members:write',
  'keys:write',
  'tunnels:connect',
  'tunnels:read',
  'tunnels:write',
  'policies:read',
  'policies:write',
  'audit:read',
  'audit:export',
  'sso:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = ['owner', 'admin', 'member', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** The role → scope table; the README shows the same table. */
export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  owner: SCOPES,
  admin: SCOPES,
  member: [
    'org:read',
    'keys:write',
    'tunnels:connect',
    'tunnels:read',
    'tunnels:write',
    'policies:read',
  ],
  auditor: ['org:read', 'tunnels:read', 'policies:read', 'audit:read', 'audit:export'],
};

export function scopesOfRole(role: Role): readonly Scope[] {
  return ROLE_SCOPES[role];
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
