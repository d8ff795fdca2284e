import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { RateLimiter } from '../security/rate-limiter.service';
import { AppError } from '../common/app-error';
import { AccessService } from './access.service';
import { generateApiKey, hashesEqual, parseApiKey } from './api-key-token';
import type { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { ApiKey } from './entities/api-key.entity';
import { orgScopeOf, type ApiKeyPrincipal, type Principal } from './principal';
import { isScope, Role, scopesOfRole } from './roles';
import { addressBucket } from '../security/address-bucket';

const LAST_USED_RESOLUTION_MS = 60_000;
const KEY_FAILURES_PER_IP = 50;
const KEY_FAILURE_WINDOW_SECONDS = 15 * 60;

interface KeyAuthRow {
  id: string;
  org_id: string;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  user_id: string;
  email: string;
  email_verified_at: Date | null;
  is_platform_admin: boolean;
  role: Role | null;
}

export function toApiKeyDto(k: ApiKey): ApiKeyDto {
  return {
    id: k.id,
    prefix: `it_${k.publicId}`,
    name: k.name,
    orgId: k.orgId,
    createdByUserId: k.createdByUserId,
    scopes: k.scopes,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    lastUsedAt: k.lastUsedAt,
    lastUsedIp: k.lastUsedIp,
    createdAt: k.createdAt,
  };
}

@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * Guessing keys is refused per client address after too many failures. The check needs Redis
   * and fails closed: while Redis is down, API-key requests answer 503 rather than go unguarded.
   */
  async authenticate(token: string, ip: string | null): Promise<ApiKeyPrincipal> {
    const key = `apikey:ip:${addressBucket(ip)}`;
    const state = await this.limiter.peek(key);
    if (state.count >= KEY_FAILURES_PER_IP) {
      throw new AppError(
        'too-many-requests',
        'Too many invalid API keys from this address; wait before retrying',
        {
          headers: { 'Retry-After': String(state.retryAfterSeconds) },
        },
      );
    }
    try {
      return await this.verify(token, ip);
    } catch (err) {
      if (err instanceof AppError && err.kind === 'invalid-api-key') {
        await this.limiter.recordFailure(
          key,
          KEY_FAILURE_WINDOW_SECONDS,
          KEY_FAILURES_PER_IP,
          3600,
        );
      }
      throw err;
    }
  }

  /**
   * Format and checksum are checked before any database work; then one indexed lookup by the
   * public id, a constant-time hash comparison, and the creator's current membership.
   */
  private async verify(token: string, ip: string | null): Promise<ApiKeyPrincipal> {
    const parsed = parseApiKey(token);
    if (parsed === 'malformed') throw new AppError('invalid-api-key', 'The API key is malformed');
    if (parsed === 'checksum')
      throw new AppError('invalid-api-key', 'The API key checksum does not match (typo?)');
    const rows: KeyAuthRow[] = await this.db.query(
      `SELECT k.id, k.org_id, k.secret_hash, k.scopes, k.expires_at, k.revoked_at, k.last_used_at,
              u.id AS user_id, u.email, u.email_verified_at, u.is_platform_admin, m.role
         FROM api_keys k
         JOIN users u ON u.id = k.created_by_user_id
         LEFT JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.created_by_user_id
        WHERE k.public_id = $1`,
      [parsed.publicId],
    );
    const row = rows[0];
    if (!row || !hashesEqual(row.secret_hash, parsed.secretHash)) {
      throw new AppError('invalid-api-key', 'The API key is not known');
    }
    if (row.revoked_at) throw new AppError('invalid-api-key', 'The API key has been revoked');
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) {
      throw new AppError('invalid-api-key', 'The API key has expired');
    }
    if (!row.role)
      throw new AppError('invalid-api-key', "The key's creator is no longer a member of its org");
    this.touch(row, ip);
    return {
      kind: 'api_key',
      user: {
        id: row.user_id,
        email: row.email,
        emailVerified: row.email_verified_at !== null,
        isPlatformAdmin: row.is_platform_admin,
      },
      apiKey: { id: row.id, orgId: row.org_id, scopes: row.scopes.filter(isScope) },
    };
  }

  /** lastUsedAt/lastUsedIp at most once a minute per key, off the request path. */
  private touch(row: KeyAuthRow, ip: string | null): void {
    if (row.last_used_at && Date.now() - row.last_used_at.getTime() < LAST_USED_RESOLUTION_MS)
      return;
    this.db
      .query(
        `UPDATE api_keys SET last_used_at = now(), last_used_ip = $2
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [row.id, ip],
      )
      .catch((err: unknown) => this.logger.warn({ err }, 'could not record API key use'));
  }

  /** Which of these keys may still open tunnels: not revoked or expired, creator still a member. */
  async stillValid(ids: string[]): Promise<Set<string>> {
    const rows: { id: string; scopes: string[]; role: Role }[] = await this.db.query(
      `SELECT k.id, k.scopes, m.role FROM api_keys k
         JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.created_by_user_id
        WHERE k.id = ANY($1::uuid[]) AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
      [ids],
    );
    return new Set(
      rows
        .filter(
          (r) =>
            r.scopes.includes('tunnels:connect') &&
            scopesOfRole(r.role).includes('tunnels:connect'),
        )
        .map((r) => r.id),
    );
  }

  async create(principal: Principal, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    if (dto.expiresAt && dto.expiresAt.getTime() <= Date.now()) {
      throw new AppError('validation-error', 'expiresAt must be in the future', {
        errors: [{ field: 'expiresAt', messages: ['expiresAt must be in the future'] }],
      });
    }
    const access = await this.access.resolve(principal, dto.orgId);
    if (!access.scopes.has('keys:write')) {
      throw new AppError('insufficient-scope', 'Missing scope: keys:write', {
        extra: { missingScopes: ['keys:write'] },
      });
    }
    const excess = dto.scopes.filter((s) => !access.scopes.has(s));
    if (excess.length > 0) {
      throw new AppError(
        'scope-escalation',
        `You cannot grant scopes you do not hold: ${excess.join(', ')}`,
        {
          extra: { excessScopes: excess },
        },
      );
    }
    const { token, publicId, secretHash } = generateApiKey();
    const saved = await this.db.transaction(async (em) => {
      const key = await em.save(
        em.create(ApiKey, {
          publicId,
          secretHash,
          name: dto.name,
          orgId: dto.orgId,
          createdByUserId: principal.user.id,
          scopes: [...dto.scopes].sort(),
          expiresAt: dto.expiresAt ?? null,
          revokedAt: null,
          lastUsedAt: null,
          lastUsedIp: null,
        }),
      );
      await this.audit.record(em, {
        orgId: dto.orgId,
        action: 'api_key.created',
        targetType: 'api_key',
        targetId: key.id,
        metadata: {
          name: key.name,
          scopes: key.scopes,
          expiresAt: key.expiresAt?.toISOString() ?? null,
        },
      });
      return key;
    });
    return { ...toApiKeyDto(saved), key: token };
  }

  async listOwn(principal: Principal, orgId?: string): Promise<ApiKeyDto[]> {
    const where: { createdByUserId: string; orgId?: string } = {
      createdByUserId: principal.user.id,
    };
    const scope = orgScopeOf(principal);
    if (scope !== null) where.orgId = scope;
    if (orgId) {
      if (where.orgId && where.orgId !== orgId) return [];
      where.orgId = orgId;
    }
    const keys = await this.db.getRepository(ApiKey).find({ where, order: { createdAt: 'DESC' } });
    return keys.map(toApiKeyDto);
  }

  async listForOrg(orgId: string): Promise<ApiKeyDto[]> {
    const keys = await this.db
      .getRepository(ApiKey)
      .find({ where: { orgId }, order: { createdAt: 'DESC' } });
    return keys.map(toApiKeyDto);
  }

  /** The creator can revoke their key; so can anyone holding members:write in its org. Others get 404. */
  async revoke(principal: Principal, id: string): Promise<void> {
    await this.db.transaction(async (em) => {
      const key = await em
        .createQueryBuilder(ApiKey, 'k')
        .setLock('pessimistic_write')
        .where('k.id = :id', { id })
        .getOne();
      if (!key) throw new AppError('not-found', 'No such API key');
      const own = key.createdByUserId === principal.user.id;
      const scope = orgScopeOf(principal);
      let allowed = own && (scope === null || scope === key.orgId);
      if (!allowed) {
        const access = await this.access.resolve(principal, key.orgId).catch(() => null);
        allowed = access?.scopes.has('members:write') ?? false;
      }
      if (!allowed) throw new AppError('not-found', 'No such API key');
      if (key.revokedAt) return;
      await em.update(ApiKey, { id }, { revokedAt: new Date() });
      await this.audit.record(em, {
        orgId: key.orgId,
        action: 'api_key.revoked',
        targetType: 'api_key',
        targetId: key.id,
        metadata: { name: key.name, createdByUserId: key.createdByUserId },
      });
    });
  }
}
