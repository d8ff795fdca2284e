import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { MeDto, MeOrgDto } from './dto/auth.dto';
import { orgScopeOf, type Principal } from './principal';

@Injectable()
export class MeService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async describe(principal: Principal): Promise<MeDto> {
    const params: string[] = [principal.user.id];
    let sql = `SELECT o.id, o.slug, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
                WHERE m.user_id = $1`;
    // An API key, or a session from an org's SSO, speaks for that one org only.
    const scope = orgScopeOf(principal);
    if (scope !== null) {
      sql += ' AND o.id = $2';
      params.push(scope);
    }
    const orgs: MeOrgDto[] = await this.db.query(`${sql} ORDER BY o.created_at`, params);
    const { user } = principal;
    return {
      id: user.id,
      email: user.email,
      emailVerified: user.emailVerified,
      isPlatformAdmin: user.isPlatformAdmin,
      authenticatedWith: principal.kind,
      ...(principal.kind === 'api_key'
        ? {
            apiKey: {
              id: principal.apiKey.id,
              orgId: principal.apiKey.orgId,
              scopes: principal.apiKey.scopes,
            },
          }
        : {}),
      ...(principal.kind === 'session' && principal.ssoOrgId
        ? { ssoOrgId: principal.ssoOrgId }
        : {}),
      orgs,
    };
  }
}
