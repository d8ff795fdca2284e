import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import { ApiKey } from '../identity/entities/api-key.entity';
import { orgScopeOf, type OrgAccess, type Principal } from '../identity/principal';
import type { Role } from '../identity/roles';
import type { CreateOrgDto, MemberDto, OrgDto } from './dto/org.dto';
import { Membership } from './entities/membership.entity';
import { Org } from './entities/org.entity';
import { lockOrg } from './org-lock';

/** Slugs that would collide with routes or look like the platform itself. */
const RESERVED_SLUGS = new Set([
  'admin',
  'api',
  'www',
  'app',
  'docs',
  'auth',
  'saml',
  'sso',
  'static',
  'instatunnel',
  'status',
  'support',
  'root',
  'system',
]);

@Injectable()
export class OrgsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(principal: Principal, dto: CreateOrgDto): Promise<OrgDto> {
    if (principal.kind === 'api_key') {
      throw new AppError(
        'forbidden',
        'API keys act inside their org and cannot create orgs; use a session',
      );
    }
    if (principal.ssoOrgId !== null) {
      throw new AppError(
        'forbidden',
        "A session from an org's single sign-on acts inside that org only; create orgs with a password session",
      );
    }
    if (RESERVED_SLUGS.has(dto.slug))
      throw new AppError('slug-taken', `The slug "${dto.slug}" is reserved`);
    try {
      return await this.db.transaction(async (em) => {
        const org = await em.save(
          em.create(Org, { name: dto.name, slug: dto.slug, createdByUserId: principal.user.id }),
        );
        await em.insert(Membership, { orgId: org.id, userId: principal.user.id, role: 'owner' });
        await this.audit.record(em, {
          orgId: org.id,
          action: 'org.created',
          targetType: 'org',
          targetId: org.id,
          metadata: { name: org.name, slug: org.slug },
        });
        return {
          id: org.id,
          name: org.name,
          slug: org.slug,
          role: 'owner' as Role,
          createdAt: org.createdAt,
        };
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('slug-taken', `The slug "${dto.slug}" is already taken`);
      throw err;
    }
  }

  async listFor(principal: Principal): Promise<OrgDto[]> {
    const params: string[] = [principal.user.id];
    let sql = `SELECT o.id, o.name, o.slug, m.role, o.created_at AS "createdAt"
                 FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1`;
    const scope = orgScopeOf(principal);
    if (scope !== null) {
      sql += ' AND o.id = $2';
      params.push(scope);
    }
    return this.db.query(`${sql} ORDER BY o.created_at, o.id`, params);
  }

  async get(access: OrgAccess): Promise<OrgDto> {
    const org = await this.db.getRepository(Org).findOneByOrFail({ id: access.orgId });
    return {
      id: org.id,
      name: org.name,
      slug: org.slug,
      role: access.role,
      createdAt: org.createdAt,
    };
  }

  listMembers(orgId: string): Promise<MemberDto[]> {
    return this.db.query(
      `SELECT m.user_id AS "userId", u.email, u.display_name AS "name", m.role, m.created_at AS "joinedAt"
         FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.org_id = $1 ORDER BY m.created_at, u.email`,
      [orgId],
    );
  }

  private async ownerCount(em: EntityManager, orgId: string): Promise<number> {
    return em.count(Membership, { where: { orgId, role: 'owner' } });
  }

  async changeRole(access: OrgAccess, userId: string, role: Role): Promise<MemberDto> {
    return this.db.transaction(async (em) => {
      await lockOrg(em, access.orgId);
      const target = await em.findOneBy(Membership, { orgId: access.orgId, userId });
      if (!target) throw new AppError('not-found', 'No such member');
      if ((target.role === 'owner' || role === 'owner') && access.role !== 'owner') {
        throw new AppError('forbidden', 'Only owners can grant the owner role or change an owner');
      }
      if (target.role === role) return this.memberDto(em, access.orgId, userId);
      if (target.role === 'owner' && (await this.ownerCount(em, access.orgId)) <= 1) {
        throw new AppError('last-owner', 'Promote another owner before demoting the last one');
      }
      await em.update(Membership, { orgId: access.orgId, userId }, { role });
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'member.role_changed',
        targetType: 'user',
        targetId: userId,
        metadata: { from: target.role, to: role },
      });
      return this.memberDto(em, access.orgId, userId);
    });
  }

  /** Removes a member and revokes the API keys they created in this org. */
  async removeMember(access: OrgAccess, principal: Principal, userId: string): Promise<void> {
    const self = principal.user.id === userId;
    if (!self && !access.scopes.has('members:write')) {
      throw new AppError('insufficient-scope', 'Missing scope: members:write', {
        extra: { missingScopes: ['members:write'] },
      });
    }
    await this.db.transaction(async (em) => {
      await lockOrg(em, access.orgId);
      const target = await em.findOneBy(Membership, { orgId: access.orgId, userId });
      if (!target) throw new AppError('not-found', 'No such member');
      if (target.role === 'owner' && !self && access.role !== 'owner') {
        throw new AppError('forbidden', 'Only owners can remove an owner');
      }
      if (target.role === 'owner' && (await this.ownerCount(em, access.orgId)) <= 1) {
        throw new AppError('last-owner', 'An org must keep at least one owner');
      }
      await em.delete(Membership, { orgId: access.orgId, userId });
      const revoked = await em
        .createQueryBuilder()
        .update(ApiKey)
        .set({ revokedAt: () => 'now()' })
        .where('org_id = :orgId AND created_by_user_id = :userId AND revoked_at IS NULL', {
          orgId: access.orgId,
          userId,
        })
        .execute();
      await this.audit.record(em, {
        orgId: access.orgId,
        action: self ? 'member.left' : 'member.removed',
        targetType: 'user',
        targetId: userId,
        metadata: { role: target.role, apiKeysRevoked: revoked.affected ?? 0 },
      });
    });
  }

  private async memberDto(em: EntityManager, orgId: string, userId: string): Promise<MemberDto> {
    const rows: MemberDto[] = await em.query(
      `SELECT m.user_id AS "userId", u.email, m.role, m.created_at AS "joinedAt"
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.user_id = $2`,
      [orgId, userId],
    );
    return rows[0];
  }
}
