import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { requestContext } from '../common/request-context';
import { ActorType, AuditEvent } from './entities/audit-event.entity';

export interface AuditInput {
  action: string;
  orgId?: string | null;
  actorType?: ActorType;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  metadata?: Record<string, unknown>;
}

const PLATFORM_CHAIN = 'platform';

/** Stable JSON: keys sorted at every level, so the hash does not depend on insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function auditHash(
  prevHash: string | null,
  e: Omit<AuditEvent, 'id' | 'hash' | 'prevHash'>,
): string {
  return createHash('sha256')
    .update(prevHash ?? '')
    .update('\n')
    .update(
      canonicalJson({
        orgId: e.orgId,
        actorType: e.actorType,
        actorId: e.actorId,
        action: e.action,
        targetType: e.targetType,
        targetId: e.targetId,
        ip: e.ip,
        userAgent: e.userAgent,
        requestId: e.requestId,
        metadata: e.metadata,
        createdAt: e.createdAt.toISOString(),
      }),
    )
    .digest('hex');
}

/**
 * Appends audit events inside the caller's transaction (an action is recorded or not done at all),
 * hash-chained per org. Actor, ip, user agent and request id default to the current request.
 */
@Injectable()
export class AuditService {
  async record(em: EntityManager, input: AuditInput): Promise<AuditEvent> {
    if (!em.queryRunner?.isTransactionActive) {
      throw new Error('AuditService.record must run inside a transaction');
    }
    const ctx = requestContext.get();
    const principal = ctx?.principal;
    const orgId = input.orgId ?? null;
    const event = em.create(AuditEvent, {
      orgId,
      actorType:
        input.actorType ??
        (principal ? (principal.kind === 'api_key' ? 'api_key' : 'user') : 'anonymous'),
      actorId:
        input.actorId !== undefined
          ? input.actorId
          : principal
            ? principal.kind === 'api_key'
              ? principal.apiKey.id
              : principal.user.id
            : null,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      ip: ctx?.ip ?? null,
      userAgent: ctx?.userAgent ?? null,
      requestId: ctx?.requestId ?? null,
      metadata: input.metadata ?? {},
      createdAt: new Date(),
    });
    // Serialise appends per chain so two transactions cannot fork it.
    await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [
      `audit:${orgId ?? PLATFORM_CHAIN}`,
    ]);
    const last: { hash: string }[] = await em.query(
      `SELECT hash FROM audit_events WHERE org_id IS NOT DISTINCT FROM $1 ORDER BY id DESC LIMIT 1`,
      [orgId],
    );
    event.prevHash = last[0]?.hash ?? null;
    event.hash = auditHash(event.prevHash, event);
    return em.save(AuditEvent, event);
  }
}
