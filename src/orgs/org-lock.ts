import type { EntityManager } from 'typeorm';
import type { Role } from '../identity/roles';

/** Locks the org row: every owner-count and owner-only decision of an org is serialised through it. */
export async function lockOrg(em: EntityManager, orgId: string): Promise<void> {
  await em.query('SELECT id FROM orgs WHERE id = $1 FOR UPDATE', [orgId]);
}

/** lockOrg, then the caller's role as it is now (null when not a member). */
export async function lockOrgAndReadRole(
  em: EntityManager,
  orgId: string,
  userId: string,
): Promise<Role | null> {
  await lockOrg(em, orgId);
  const rows: { role: Role }[] = await em.query(
    'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
    [orgId, userId],
  );
  return rows[0]?.role ?? null;
}
