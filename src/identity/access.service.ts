import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { Membership } from '../orgs/entities/membership.entity';
import { Org } from '../orgs/entities/org.entity';
import { SamlConnection } from '../sso/entities/saml-connection.entity';
import type { OrgAccess, Principal } from './principal';
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
    if (principal.kind === 'api_key' && principal.apiKey.orgId !== orgId) {
      throw new AppError('not-found', 'No such org');
    }
    const row = await this.memberships
      .createQueryBuilder('m')
      .innerJoin(Org, 'o', 'o.id = m.org_id')
      .leftJoin(SamlConnection, 'c', 'c.org_id = m.org_id AND c.enabled')
      .select('m.role', 'role')
      .addSelect('o.slug', 'slug')
      .addSelect('c.sso_required', 'ssoRequired')
      .where('m.org_id = :orgId AND m.user_id = :userId', { orgId, userId: principal.user.id })
      .getRawOne<{ role: Role; slug: string; ssoRequired: boolean | null }>();
    if (!row) throw new AppError('not-found', 'No such org');
    if (row.ssoRequired && principal.kind === 'session' && principal.ssoOrgId !== orgId) {
      const loginUrl = new URL(`/saml/${row.slug}/login`, this.config.PUBLIC_URL).toString();
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
