import { ROLE_SCOPES, ROLES, SCOPES } from './roles';

describe('role → scope table', () => {
  it('grants owners every scope and keeps every role within the known scopes', () => {
    expect([...ROLE_SCOPES.owner].sort()).toEqual([...SCOPES].sort());
    for (const role of ROLES) for (const s of ROLE_SCOPES[role]) expect(SCOPES).toContain(s);
  });

  it('keeps auditors read-only and members away from org administration', () => {
    expect(ROLE_SCOPES.auditor.filter((s) => /:write|:connect/.test(s))).toEqual([]);
    expect(ROLE_SCOPES.member).not.toContain('members:write');
    expect(ROLE_SCOPES.member).not.toContain('policies:write');
    expect(ROLE_SCOPES.member).not.toContain('sso:write');
    expect(ROLE_SCOPES.member).not.toContain('audit:read');
  });
});
