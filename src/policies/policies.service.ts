import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { evaluate, type Decision } from '@instatunnel/policy-engine';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import type { OrgAccess } from '../identity/principal';
import { ReservedName } from '../tunnels/entities/reserved-name.entity';
import {
  CreatePolicyDto,
  PolicyDto,
  PolicyEventDto,
  PolicyEventPageDto,
  PolicyEventsQuery,
  PolicyVersionDto,
  SimulateDto,
  UpdatePolicyDto,
} from './dto/policy.dto';
import { Policy, PolicyVersion } from './entities/policy.entity';
import { PolicyEnforcer } from './policy-enforcer';
import { compileOrThrow, envelope, readBody, ruleDiff } from './policy-input';

/** Simulation never spends real rate-limit budget: every limit reports "would be checked, allowed". */
const DRY_RUN = {
  rateLimit: async (_k: string, capacity: number) => ({
    allowed: true,
    limit: capacity,
    remaining: capacity,
    resetSeconds: 0,
  }),
};

@Injectable()
export class PoliciesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly enforcer: PolicyEnforcer,
  ) {}

  private async load(
    orgId: string,
    id: string,
  ): Promise<{ policy: Policy; version: PolicyVersion }> {
    const policy = await this.db.getRepository(Policy).findOneBy({ id, orgId });
    if (!policy) throw new AppError('not-found', 'No such policy');
    const version = await this.db
      .getRepository(PolicyVersion)
      .findOneByOrFail({ policyId: id, version: policy.currentVersion });
    return { policy, version };
  }

  private dto(p: Policy, v: PolicyVersion): PolicyDto {
    return {
      id: p.id,
      name: p.name,
      reservedNameId: p.reservedNameId,
      version: p.currentVersion,
      document: v.document,
      updatedAt: p.updatedAt,
    };
  }

  async list(orgId: string): Promise<PolicyDto[]> {
    const rows: (Policy & { document: Record<string, unknown> })[] = await this.db.query(
      `SELECT p.id, p.name, p.reserved_name_id AS "reservedNameId", p.current_version AS "currentVersion",
              p.updated_at AS "updatedAt", v.document
         FROM policies p JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.current_version
        WHERE p.org_id = $1 ORDER BY p.created_at, p.id`,
      [orgId],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      reservedNameId: r.reservedNameId,
      version: r.currentVersion,
      document: r.document,
      updatedAt: r.updatedAt,
    }));
  }

  async get(orgId: string, id: string): Promise<PolicyDto> {
    const { policy, version } = await this.load(orgId, id);
    return this.dto(policy, version);
  }

  async create(access: OrgAccess, userId: string, body: unknown): Promise<PolicyDto> {
    const dto = await envelope(CreatePolicyDto, readBody(body));
    compileOrThrow(dto.document);
    if (dto.reservedNameId) {
      const reserved = await this.db
        .getRepository(ReservedName)
        .findOneBy({ id: dto.reservedNameId, orgId: access.orgId });
      if (!reserved) throw new AppError('not-found', 'No such reserved name');
    }
    try {
      const created = await this.db.transaction(async (em) => {
        const policy = await em.save(
          em.create(Policy, {
            orgId: access.orgId,
            name: dto.name,
            reservedNameId: dto.reservedNameId ?? null,
            currentVersion: 1,
            createdByUserId: userId,
          }),
        );
        const version = await em.save(
          em.create(PolicyVersion, {
            policyId: policy.id,
            version: 1,
            document: dto.document,
            createdByUserId: userId,
          }),
        );
        await this.audit.record(em, {
          orgId: access.orgId,
          action: 'policy.created',
          targetType: 'policy',
          targetId: policy.id,
          metadata: {
            name: policy.name,
            reservedNameId: policy.reservedNameId,
            version: 1,
            diff: ruleDiff(undefined, dto.document),
          },
        });
        return this.dto(policy, version);
      });
      await this.enforcer.changed(access.orgId);
      return created;
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError(
          'policy-exists',
          dto.reservedNameId
            ? 'That reserved name already has a policy'
            : 'The org already has a default policy; update it instead',
        );
      }
      throw err;
    }
  }

  /** Every change is a new version; the previous ones stay readable. */
  async update(access: OrgAccess, userId: string, id: string, body: unknown): Promise<PolicyDto> {
    const dto = await envelope(UpdatePolicyDto, readBody(body));
    compileOrThrow(dto.document);
    const updated = await this.db.transaction(async (em) => {
      const policy = await em
        .createQueryBuilder(Policy, 'p')
        .setLock('pessimistic_write')
        .where('p.id = :id AND p.org_id = :org', { id, org: access.orgId })
        .getOne();
      if (!policy) throw new AppError('not-found', 'No such policy');
      const previous = await em.findOneByOrFail(PolicyVersion, {
        policyId: id,
        version: policy.currentVersion,
      });
      const next = policy.currentVersion + 1;
      const version = await em.save(
        em.create(PolicyVersion, {
          policyId: id,
          version: next,
          document: dto.document,
          createdByUserId: userId,
        }),
      );
      policy.currentVersion = next;
      if (dto.name) policy.name = dto.name;
      await em.save(policy);
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'policy.updated',
        targetType: 'policy',
        targetId: id,
        metadata: {
          name: policy.name,
          from: next - 1,
          to: next,
          diff: ruleDiff(previous.document, dto.document),
        },
      });
      return this.dto(policy, version);
    });
    await this.enforcer.changed(access.orgId);
    return updated;
  }

  async remove(access: OrgAccess, id: string): Promise<void> {
    await this.db.transaction(async (em) => {
      const policy = await em.findOneBy(Policy, { id, orgId: access.orgId });
      if (!policy) throw new AppError('not-found', 'No such policy');
      await em.delete(Policy, { id });
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'policy.deleted',
        targetType: 'policy',
        targetId: id,
        metadata: { name: policy.name, version: policy.currentVersion },
      });
    });
    await this.enforcer.changed(access.orgId);
  }

  async versions(orgId: string, id: string): Promise<PolicyVersionDto[]> {
    await this.load(orgId, id);
    const rows = await this.db
      .getRepository(PolicyVersion)
      .find({ where: { policyId: id }, order: { version: 'DESC' } });
    return rows.map((v) => ({
      version: v.version,
      document: v.document,
      createdByUserId: v.createdByUserId,
      createdAt: v.createdAt,
    }));
  }

  async version(orgId: string, id: string, n: number): Promise<PolicyVersionDto> {
    await this.load(orgId, id);
    const v = await this.db.getRepository(PolicyVersion).findOneBy({ policyId: id, version: n });
    if (!v) throw new AppError('not-found', 'No such version');
    return {
      version: v.version,
      document: v.document,
      createdByUserId: v.createdByUserId,
      createdAt: v.createdAt,
    };
  }

  /** The same engine code as the ingress, on the current version, with rate limits dry-run. */
  async simulate(
    orgId: string,
    id: string,
    dto: SimulateDto,
  ): Promise<Decision & { version: number }> {
    const { policy, version } = await this.load(orgId, id);
    const compiled = compileOrThrow(version.document);
    const r = dto.request;
    const q = r.path.indexOf('?');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {}))
      if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const host = (r.host ?? 'tunnel.invalid').toLowerCase();
    const decision = await evaluate(
      compiled,
      {
        method: r.method,
        path: q >= 0 ? r.path.slice(0, q) : r.path,
        query: q >= 0 ? new URLSearchParams(r.path.slice(q + 1)) : null,
        host,
        clientIp: r.clientIp,
        headers,
        tunnel: host.split('.')[0],
        body: r.body !== undefined ? Buffer.from(r.body) : undefined,
        url: `https://${host}${r.path}`,
      },
      DRY_RUN,
    );
    return { ...decision, version: policy.currentVersion };
  }

  /** Newest first, keyset-paginated on id. */
  async events(orgId: string, q: PolicyEventsQuery): Promise<PolicyEventPageDto> {
    const limit = q.limit ?? 100;
    const where = ['org_id = $1'];
    const params: unknown[] = [orgId];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.tunnel) add('tunnel = ?', q.tunnel);
    if (q.rule) add('rule = ?', q.rule);
    if (q.action) add('action = ?', q.action);
    if (q.clientIp) add('client_ip = ?', q.clientIp);
    if (q.cursor) add('id < ?::bigint', q.cursor);
    params.push(limit + 1);
    const rows: PolicyEventDto[] = await this.db.query(
      `SELECT id::text, tunnel, rule, action, reason, client_ip AS "clientIp", method, path, status, count,
              minute, first_seen AS "firstSeen", last_seen AS "lastSeen"
         FROM traffic_policy_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
  }
}
