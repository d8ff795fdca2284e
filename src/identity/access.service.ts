import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { Membership } from '../orgs/entities/membership.entity';
import { Org } from '../orgs/entities/org.entity';
import { orgScopeOf, type OrgAccess, type Principal } from './principal';
import { Role, scopesOfRole } from './roles';

/**
 * Effective access = the member's role scopes, narrowed to the key's scopes for API keys. An org
 * that requires SSO accepts only sessions its own SAML login started (API keys keep working).
 */
@Injectable()
export class AccessService {
  constructor(
    @InjectRepository(Membership) private readonly memberships: Repository<Membership>,
    private readonly config: AppConfig,
  ) {}

  async resolve(principal: Principal, orgId: string): Promise<OrgAccess> {
    const scope = orgScopeOf(principal);
    if (scope !== null && scope !== orgId) {
      if (principal.kind === 'api_key') throw new AppError('not-found', 'No such org');
      throw new AppError(
        'forbidden',
        "This session was started by another org's single sign-on and reaches that org only; log in again for this one",
      );
    }
    // One indexed lookup; the SSO requirement rides along as a sub-select (primary key probe).
    const rows: { role: Role; sso_required: boolean }[] = await this.memberships.query(
      `SELECT m.role, EXISTS (SELECT 1 FROM saml_connections c
                WHERE c.org_id = m.org_id AND c.enabled AND c.sso_required) AS sso_required
         FROM memberships m WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, principal.user.id],
    );
    const row = rows[0];
    if (!row) throw new AppError('not-found', 'No such org');
    if (row.sso_required && principal.kind === 'session' && principal.ssoOrgId !== orgId) {
      const org = await this.memberships.manager.findOneByOrFail(Org, { id: orgId });
      const loginUrl = new URL(`/saml/${org.slug}/login`, this.config.PUBLIC_URL).toString();
      throw new AppError('sso-required', `This org requires single sign-on: ${loginUrl}`, {
        extra: { loginUrl },
      });
    }
    let scopes = new Set(scopesOfRole(row.role));
    if (principal.kind === 'api_key') {
      const keyScopes = new Set(principal.apiKey.scopes);
      scopes = new Set([...scopes].filter((s) => keyScopes.has(s)));
    }
    return { orgId, role: row.role, scopes };
  }
}
