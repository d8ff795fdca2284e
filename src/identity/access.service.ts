import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AppError } from '../common/app-error';
import { Membership } from '../orgs/entities/membership.entity';
import type { OrgAccess, Principal } from './principal';
import { scopesOfRole } from './roles';

/** Effective access = the member's role scopes, narrowed to the key's scopes for API keys. */
@Injectable()
export class AccessService {
  constructor(@InjectRepository(Membership) private readonly memberships: Repository<Membership>) {}

  async resolve(principal: Principal, orgId: string): Promise<OrgAccess> {
    if (principal.kind === 'api_key' && principal.apiKey.orgId !== orgId) {
      throw new AppError('not-found', 'No such org');
    }
    const membership = await this.memberships.findOneBy({ orgId, userId: principal.user.id });
    if (!membership) throw new AppError('not-found', 'No such org');
    let scopes = new Set(scopesOfRole(membership.role));
    if (principal.kind === 'api_key') {
      const keyScopes = new Set(principal.apiKey.scopes);
      scopes = new Set([...scopes].filter((s) => keyScopes.has(s)));
    }
    return { orgId, role: membership.role, scopes };
  }
}
