import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Profile } from '@node-saml/node-saml';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import type { Role } from '../identity/roles';
import { normalizeEmail } from '../identity/users.service';
import { Membership } from '../orgs/entities/membership.entity';
import { RedisService } from '../redis/redis.service';
import { RateLimiter } from '../security/rate-limiter.service';
import { SsoStats } from '../security/sso-stats';
import { normalizeDomain } from './domains.service';
import type { SamlContext } from './saml-config.service';
import { inspectSignedAssertion, SamlRejection, type SsoFailureReason } from './saml-xml';
import { addressBucket } from '../security/address-bucket';

/** Failed-login audit rows per org and client address per minute; the rest are counted only. */
const FAILURE_AUDITS_PER_MINUTE = 20;
const ROLE_RANK: Record<Role, number> = { owner: 4, admin: 3, member: 2, auditor: 1 };
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

export interface SsoLogin {
  userId: string;
  orgId: string;
  role: Role;
  /** The request this login answered; null when IdP-initiated. */
  inResponseTo: string | null;
  /** The user's session epoch after this login (the session is made in it). */
  epoch: number;
  /** The connection generation the login went through. */
  generation: number;
}

function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * What happens after node-saml verified a response: our own checks on the signed assertion
 * (issuer, recipient, replay), then the user is linked or created and their role applied, all in
 * one transaction with the audit event.
 */
@Injectable()
export class SsoLoginService {
  private readonly logger = new Logger(SsoLoginService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
    private readonly stats: SsoStats,
  ) {}

  async complete(ctx: SamlContext, profile: Profile): Promise<SsoLogin> {
    const assertionXml = profile.getAssertionXml?.();
    if (!assertionXml) throw new SamlRejection('invalid-response', 'No signed assertion');
    const skewMs = this.config.SAML_CLOCK_SKEW_SECONDS * 1000;
    const facts = inspectSignedAssertion(assertionXml, {
      acsUrl: ctx.sp.acsUrl,
      idpEntityId: ctx.connection.idpEntityId,
      responseInResponseTo: typeof profile.inResponseTo === 'string' ? profile.inResponseTo : null,
    });
    // Claim the assertion id first: of two posts of one response, exactly one gets past this line.
    const rememberMs = Math.max(1000, facts.expiresAt - Date.now() + skewMs);
    const claimed = await this.redis.client.set(
      this.redis.key('saml', 'seen', ctx.org.id, facts.assertionId.slice(0, 256)),
      '1',
      'PX',
      rememberMs,
      'NX',
    );
    if (claimed !== 'OK') throw new SamlRejection('replay', 'This assertion was already used');

    const mapping = ctx.connection.attributeMapping;
    const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
    const rawEmail = mapping.email
      ? stringValues(attributes[mapping.email])[0]
      : (profile.nameID ?? undefined);
    const email = rawEmail ? normalizeEmail(rawEmail) : '';
    if (!EMAIL.test(email) || email.length > 254) {
      throw new SamlRejection('email-missing', 'The assertion carries no usable email address');
    }
    const domain = normalizeDomain(email.slice(email.lastIndexOf('@') + 1)) ?? '';
    const groups = mapping.groups ? stringValues(attributes[mapping.groups]) : [];
    const rawName = mapping.name ? stringValues(attributes[mapping.name])[0] : undefined;
    // Printable text only, trimmed and bounded: it is shown in member lists.
    const name = rawName?.replace(CONTROL_CHARS, '').trim().slice(0, 200) || null;
    const mapped = ctx.connection.groupRoles
      .filter((g) => groups.includes(g.group))
      .map((g) => g.role)
      .sort((a, b) => ROLE_RANK[b] - ROLE_RANK[a])[0];

    const login = await this.db.transaction(async (em) => {
      const allowed: { ok: boolean }[] = await em.query(
        `SELECT (d.domain IS NOT NULL) AS ok FROM saml_connections c
         LEFT JOIN org_domains d ON d.org_id = c.org_id AND d.domain = $2 AND d.verified_at IS NOT NULL
         WHERE c.org_id = $1 AND $2 = ANY(c.allowed_domains)`,
        [ctx.org.id, domain],
      );
      if (!allowed[0]?.ok) {
        throw new SamlRejection(
          'domain-not-allowed',
          'The email domain is not allowed for this org',
        );
      }
      const { userId, created, epoch } = await this.linkUser(em, ctx, email);
      if (name !== null) {
        await em.query(
          `UPDATE users SET display_name = $2 WHERE id = $1 AND display_name IS DISTINCT FROM $2`,
          [userId, name],
        );
      }
      const { role, provisioned, previousRole } = await this.applyRole(em, ctx, userId, mapped);
      await this.audit.record(em, {
        action: 'sso.login',
        orgId: ctx.org.id,
        actorType: 'user',
        actorId: userId,
        targetType: 'user',
        targetId: userId,
        metadata: {
          method: 'saml',
          role,
          userCreated: created,
          memberAdded: provisioned,
          ...(previousRole && previousRole !== role ? { previousRole } : {}),
          unsolicited: facts.inResponseTo === null,
        },
      });
      return {
        userId,
        orgId: ctx.org.id,
        role,
        inResponseTo: facts.inResponseTo,
        epoch,
        generation: ctx.connection.generation,
      };
    });
    // Outside the login transaction and at most once a minute: logins of one org never queue on
    // this row. It records that the IdP works (the precondition for "SSO required").
    await this.db
      .query(
        `UPDATE saml_connections SET last_login_at = now() WHERE org_id = $1 AND generation = $2
           AND (last_login_at IS NULL OR last_login_at < now() - interval '1 minute')`,
        [ctx.org.id, ctx.connection.generation],
      )
      .catch((err: unknown) => this.logger.warn({ err }, 'could not record the SSO login time'));
    this.stats.success();
    return login;
  }

  /** Finds the user by email or creates them (JIT); an unverified account is taken over by SSO. */
  private async linkUser(
    em: EntityManager,
    ctx: SamlContext,
    email: string,
  ): Promise<{ userId: string; created: boolean; epoch: number }> {
    if (ctx.connection.jitProvisioning) {
      const inserted: { id: string }[] = await em.query(
        `INSERT INTO users (email, email_verified_at, is_platform_admin) VALUES ($1, now(), false)
         ON CONFLICT (email) DO NOTHING RETURNING id`,
        [email],
      );
      if (inserted[0]) {
        await this.audit.record(em, {
          action: 'user.created_by_sso',
          orgId: ctx.org.id,
          actorType: 'system',
          targetType: 'user',
          targetId: inserted[0].id,
        });
        return { userId: inserted[0].id, created: true, epoch: 0 };
      }
    }
    const rows: { id: string; verified: boolean; epoch: number }[] = await em.query(
      `SELECT id, email_verified_at IS NOT NULL AS verified, session_epoch AS epoch
         FROM users WHERE email = $1 FOR UPDATE`,
      [email],
    );
    const user = rows[0];
    if (!user) {
      throw new SamlRejection('user-not-provisioned', 'No account exists and JIT is off');
    }
    if (!user.verified) {
      // Someone registered this address without proving it; the IdP just did. Their password and
      // every session they hold (possibly an attacker's, waiting for the real owner) stop working.
      await em.query(
        `UPDATE users SET email_verified_at = now(), password_hash = NULL,
                session_epoch = session_epoch + 1, updated_at = now() WHERE id = $1`,
        [user.id],
      );
      await this.audit.record(em, {
        action: 'user.email_verified',
        orgId: ctx.org.id,
        actorType: 'system',
        targetType: 'user',
        targetId: user.id,
        metadata: { method: 'saml', passwordCleared: true, sessionsEnded: true },
      });
      return { userId: user.id, created: false, epoch: user.epoch + 1 };
    }
    return { userId: user.id, created: false, epoch: user.epoch };
  }

  /**
   * With group mappings the IdP decides the role at every login (mapped group, else the default
   * role, else refused); without them new members get the default role and existing ones keep
   * theirs. Owners are never changed by SSO.
   */
  private async applyRole(
    em: EntityManager,
    ctx: SamlContext,
    userId: string,
    mapped: Role | undefined,
  ): Promise<{ role: Role; provisioned: boolean; previousRole: Role | null }> {
    const { connection } = ctx;
    const member = await em.findOne(Membership, {
      where: { orgId: ctx.org.id, userId },
      lock: { mode: 'pessimistic_write' },
    });
    if (member?.role === 'owner') return { role: 'owner', provisioned: false, previousRole: null };
    const managedByGroups = connection.groupRoles.length > 0;
    const target: Role | null =
      mapped ?? (member && !managedByGroups ? member.role : null) ?? connection.defaultRole;
    if (!target) {
      throw new SamlRejection('no-role', 'No group of this user maps to a role in the org');
    }
    if (!member) {
      if (!connection.jitProvisioning) {
        throw new SamlRejection('user-not-provisioned', 'The user is not a member and JIT is off');
      }
      const inserted: unknown[] = await em.query(
        `INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, user_id) DO NOTHING RETURNING role`,
        [ctx.org.id, userId, target],
      );
      // Joined at this very moment another way (an invitation): treat as an existing member.
      if (inserted.length === 0) return this.applyRole(em, ctx, userId, mapped);
      await this.audit.record(em, {
        action: 'member.added',
        orgId: ctx.org.id,
        actorType: 'system',
        targetType: 'user',
        targetId: userId,
        metadata: { role: target, via: 'saml' },
      });
      return { role: target, provisioned: true, previousRole: null };
    }
    if (member.role !== target) {
      await em.update(Membership, { orgId: ctx.org.id, userId }, { role: target });
      await this.audit.record(em, {
        action: 'member.role_changed',
        orgId: ctx.org.id,
        actorType: 'system',
        targetType: 'user',
        targetId: userId,
        metadata: { from: member.role, to: target, via: 'saml' },
      });
    }
    return { role: target, provisioned: false, previousRole: member.role };
  }

  /**
   * Audit (bounded per org and address; none for unknown orgs, which anyone can name), metrics
   * and one log line; never assertion content.
   */
  async recordFailure(
    orgId: string | null,
    reason: SsoFailureReason,
    ip: string | null,
  ): Promise<void> {
    this.stats.failure(reason);
    this.logger.warn({ orgId, reason }, 'sso login refused');
    if (orgId === null) return;
    let audit = true;
    try {
      const state = await this.limiter.hit(
        `sso-fail:${orgId ?? 'none'}:${addressBucket(ip)}`,
        FAILURE_AUDITS_PER_MINUTE,
        60,
      );
      audit = state.allowed;
    } catch {
      // Redis down: write the row; the limiter only protects the audit log from floods.
    }
    if (!audit) return;
    await this.db.transaction((em) =>
      this.audit.record(em, {
        action: 'sso.login_failed',
        orgId,
        actorType: 'anonymous',
        targetType: 'saml_connection',
        targetId: orgId,
        metadata: { reason },
      }),
    );
  }
}
