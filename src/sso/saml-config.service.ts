import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DataSource } from 'typeorm';
import type { OrgAccess } from '../identity/principal';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import type { FieldError } from '../common/problem';
import { AppConfig } from '../config/app-config';
import { readSpSigningKey, type SpSigningKey } from '../config/saml-sp-key';
import { Org } from '../orgs/entities/org.entity';
import { lockOrgAndReadRole } from '../orgs/org-lock';
import { RedisService } from '../redis/redis.service';
import { normalizeDomain, DomainsService } from './domains.service';
import {
  PutSamlConnectionDto,
  type SamlConnectionDto,
  type ServiceProviderDto,
} from './dto/saml.dto';
import { SamlConnection, type SignatureMode } from './entities/saml-connection.entity';
import { RedisSamlCache } from './redis-cache-provider';
import { certificateInfo, parseIdpMetadata, SamlRejection, toPem } from './saml-xml';

const EMAIL_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const MAX_METADATA_CHARS = 256 * 1024;
const MIN_RSA_BITS = 2048;
const SLUG = /^[a-z0-9-]{1,48}$/;

/** Everything one ACS or login request needs about its org; built before passport runs. */
export interface SamlContext {
  org: Pick<Org, 'id' | 'slug'>;
  connection: SamlConnection;
  sp: ServiceProviderDto;
  options: SamlConfig;
}

/**
 * Whether a new configuration still trusts the IdP the old one proved with a login: the same
 * entity id and at least one certificate in common (a rotation keeps it, a swap does not).
 */
function sameIdp(
  a: Pick<SamlConnection, 'idpEntityId' | 'idpCertificates'>,
  b: Pick<SamlConnection, 'idpEntityId' | 'idpCertificates'>,
): boolean {
  return (
    a.idpEntityId === b.idpEntityId && a.idpCertificates.some((c) => b.idpCertificates.includes(c))
  );
}

const sameSet = (x: string[], y: string[]) =>
  x.length === y.length && [...x].sort().join('\n') === [...y].sort().join('\n');

/**
 * What decides who can sign in as whom: the IdP, its keys, which domains it speaks for, which
 * attribute names the user, and which responses count. Changing any of it is an owner's call and
 * ends the sessions the previous settings created.
 */
function trustChanged(before: SamlConnection | null, after: SamlConnection): boolean {
  if (!before) return true;
  return (
    before.idpEntityId !== after.idpEntityId ||
    before.idpSsoUrl !== after.idpSsoUrl ||
    !sameSet(before.idpCertificates, after.idpCertificates) ||
    !sameSet(before.allowedDomains, after.allowedDomains) ||
    (before.attributeMapping.email ?? null) !== (after.attributeMapping.email ?? null) ||
    before.signatureMode !== after.signatureMode ||
    before.allowIdpInitiated !== after.allowIdpInitiated ||
    before.enabled !== after.enabled
  );
}

/** Switches that can lock members out: owners only as well. */
function lockoutChanged(before: SamlConnection | null, after: SamlConnection): boolean {
  return (before?.ssoRequired ?? false) !== after.ssoRequired;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

@Injectable()
export class SamlConfigService {
  /** The SP's key for signing AuthnRequests, when configured (checked at start-up). */
  readonly spKey: SpSigningKey | null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    private readonly audit: AuditService,
    private readonly domains: DomainsService,
  ) {
    this.spKey = readSpSigningKey(config).key;
  }

  serviceProvider(slug: string): ServiceProviderDto {
    const url = (p: string) => new URL(`/saml/${slug}/${p}`, this.config.PUBLIC_URL).toString();
    return {
      entityId: url('metadata'),
      acsUrl: url('acs'),
      metadataUrl: url('metadata'),
      loginUrl: url('login'),
    };
  }

  private toDto(c: SamlConnection, slug: string): SamlConnectionDto {
    return {
      orgId: c.orgId,
      enabled: c.enabled,
      idpEntityId: c.idpEntityId,
      idpSsoUrl: c.idpSsoUrl,
      idpCertificates: c.idpCertificates.map((pem) => {
        const info = certificateInfo(pem);
        return {
          pem,
          sha256: info?.sha256 ?? '',
          subject: info?.subject ?? '',
          notBefore: info?.notBefore ?? '',
          notAfter: info?.notAfter ?? '',
        };
      }),
      signatureMode: c.signatureMode,
      attributeMapping: c.attributeMapping,
      groupRoles: c.groupRoles,
      defaultRole: c.defaultRole,
      jitProvisioning: c.jitProvisioning,
      ssoRequired: c.ssoRequired,
      allowIdpInitiated: c.allowIdpInitiated,
      allowedDomains: c.allowedDomains,
      lastLoginAt: c.lastLoginAt?.toISOString() ?? null,
      serviceProvider: this.serviceProvider(slug),
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    };
  }

  async signatureModeOf(orgId: string): Promise<SignatureMode | null> {
    const c = await this.db
      .getRepository(SamlConnection)
      .findOne({ where: { orgId }, select: { orgId: true, signatureMode: true } });
    return c?.signatureMode ?? null;
  }

  async orgBySlug(slug: string): Promise<Org> {
    const org = SLUG.test(slug) ? await this.db.getRepository(Org).findOneBy({ slug }) : null;
    if (!org) throw new AppError('not-found', 'No such org');
    return org;
  }

  private async slugOf(orgId: string): Promise<string> {
    const org = await this.db.getRepository(Org).findOneByOrFail({ id: orgId });
    return org.slug;
  }

  async get(orgId: string): Promise<SamlConnectionDto> {
    const c = await this.db.getRepository(SamlConnection).findOneBy({ orgId });
    if (!c) throw new AppError('sso-not-configured', 'This org has no SAML connection yet');
    return this.toDto(c, await this.slugOf(orgId));
  }

  /** Checks that need more than field syntax; every problem is reported at once. */
  private async check(
    orgId: string,
    input: PutSamlConnectionDto,
  ): Promise<{ next: SamlConnection; errors: FieldError[] }> {
    const errors: FieldError[] = [];
    const add = (field: string, message: string) => errors.push({ field, messages: [message] });

    let ssoUrl: URL | null = null;
    try {
      ssoUrl = new URL(input.idpSsoUrl);
    } catch {
      add('idpSsoUrl', 'must be an absolute URL');
    }
    if (
      ssoUrl &&
      ssoUrl.protocol !== 'https:' &&
      !(ssoUrl.protocol === 'http:' && isLoopback(ssoUrl.hostname))
    ) {
      add('idpSsoUrl', 'must be https (http only for localhost)');
    }

    const certificates = input.idpCertificates.map((raw) => toPem(raw));
    certificates.forEach((pem, i) => {
      const info = certificateInfo(pem);
      const field = `idpCertificates[${i}]`;
      if (!info) return add(field, 'is not an X.509 certificate');
      if (info.keyBits === null) return add(field, 'must hold an RSA key');
      if (info.keyBits < MIN_RSA_BITS)
        add(field, `RSA key must have at least ${MIN_RSA_BITS} bits`);
      if (Date.parse(info.notAfter) <= Date.now()) add(field, `expired on ${info.notAfter}`);
    });
    if (new Set(certificates).size !== certificates.length) {
      add('idpCertificates', 'lists the same certificate twice');
    }

    const allowedDomains: string[] = [];
    (input.allowedDomains ?? []).forEach((raw, i) => {
      const d = normalizeDomain(raw);
      if (!d) add(`allowedDomains[${i}]`, 'is not a domain name');
      else if (!allowedDomains.includes(d)) allowedDomains.push(d);
    });
    const verified = await this.domains.verifiedAmong(orgId, allowedDomains);
    allowedDomains.forEach((d) => {
      if (!verified.has(d)) add('allowedDomains', `${d} is not verified by this org`);
    });

    const groups = new Set<string>();
    (input.groupRoles ?? []).forEach((g, i) => {
      if (groups.has(g.group)) add(`groupRoles[${i}].group`, 'is mapped twice');
      groups.add(g.group);
    });
    if ((input.groupRoles ?? []).length > 0 && !input.attributeMapping?.groups) {
      add('attributeMapping.groups', 'is needed when groupRoles are set');
    }

    const existing = await this.db.getRepository(SamlConnection).findOneBy({ orgId });
    const provenIdp =
      existing !== null &&
      sameIdp(existing, { idpEntityId: input.idpEntityId, idpCertificates: certificates });
    const lastLoginAt = provenIdp ? (existing?.lastLoginAt ?? null) : null;
    const enabled = input.enabled ?? true;
    if (input.ssoRequired) {
      if (!enabled) add('ssoRequired', 'needs the connection enabled');
      else if (!lastLoginAt) {
        add(
          'ssoRequired',
          'can be turned on after one successful SSO login through this IdP (so nobody is locked out)',
        );
      }
    }
    const next = Object.assign(new SamlConnection(), {
      orgId,
      enabled,
      idpEntityId: input.idpEntityId,
      idpSsoUrl: input.idpSsoUrl,
      idpCertificates: certificates,
      signatureMode: input.signatureMode ?? 'either',
      attributeMapping: { ...input.attributeMapping },
      groupRoles: (input.groupRoles ?? []).map((g) => ({ group: g.group, role: g.role })),
      defaultRole: input.defaultRole === undefined ? 'member' : input.defaultRole,
      jitProvisioning: input.jitProvisioning ?? true,
      ssoRequired: input.ssoRequired ?? false,
      allowIdpInitiated: input.allowIdpInitiated ?? false,
      allowedDomains,
      lastLoginAt,
    });
    return { next, errors };
  }

  /** Creates or replaces the org's connection (PUT semantics: omitted fields take their defaults). */
  async put(
    access: OrgAccess,
    actorId: string,
    input: PutSamlConnectionDto,
  ): Promise<SamlConnectionDto> {
    const { orgId } = access;
    const { next, errors } = await this.check(orgId, input);
    const saved = await this.db.transaction(async (em) => {
      const actorRole = await lockOrgAndReadRole(em, orgId, actorId);
      const before = await em.findOne(SamlConnection, {
        where: { orgId },
        lock: { mode: 'pessimistic_write' },
      });
      // An admin who could swap the certificate (or pick the attribute that names the user) could
      // sign in as any user of the domain, owners included: that is an owner's call, checked on
      // the role as it is now, under the org lock that role changes also take.
      const trust = trustChanged(before, next);
      if ((trust || lockoutChanged(before, next)) && actorRole !== 'owner') {
        throw new AppError(
          'forbidden',
          'Only an owner can change which IdP, keys, domains, email attribute and signature rules the org trusts, or switch SSO required',
        );
      }
      // Authorisation first, then the field problems (a non-owner learns nothing from them).
      if (errors.length > 0) {
        throw new AppError('invalid-saml-config', 'The SAML configuration is not valid', {
          errors,
        });
      }
      next.generation = before ? before.generation + (trust ? 1 : 0) : 1;
      await em.save(SamlConnection, next);
      await this.audit.record(em, {
        action: before ? 'sso.connection_updated' : 'sso.connection_created',
        orgId,
        targetType: 'saml_connection',
        targetId: orgId,
        metadata: {
          changed: before ? this.changedFields(before, next) : null,
          ...this.summary(next),
        },
      });
      return em.findOneByOrFail(SamlConnection, { orgId });
    });
    return this.toDto(saved, await this.slugOf(orgId));
  }

  /** Takes entity id, SSO URL and signing certificates from IdP metadata; other settings stay. */
  async importMetadata(
    access: OrgAccess,
    actorId: string,
    xml: string,
  ): Promise<SamlConnectionDto> {
    const { orgId } = access;
    if (xml.length > MAX_METADATA_CHARS) {
      throw new AppError('invalid-saml-config', 'The metadata is larger than 256 KiB');
    }
    let meta;
    try {
      meta = parseIdpMetadata(xml);
    } catch (err) {
      if (err instanceof SamlRejection) {
        throw new AppError('invalid-saml-config', `The metadata cannot be used: ${err.message}`);
      }
      throw err;
    }
    const existing = await this.db.getRepository(SamlConnection).findOneBy({ orgId });
    const input = plainToInstance(PutSamlConnectionDto, {
      enabled: existing?.enabled,
      signatureMode: existing?.signatureMode,
      attributeMapping: existing?.attributeMapping,
      groupRoles: existing?.groupRoles,
      defaultRole: existing ? existing.defaultRole : undefined,
      jitProvisioning: existing?.jitProvisioning,
      allowIdpInitiated: existing?.allowIdpInitiated,
      allowedDomains: existing?.allowedDomains,
      // A different IdP has not proven itself yet: keep "SSO required" only for the same one.
      ssoRequired:
        existing?.ssoRequired === true &&
        sameIdp(existing, { idpEntityId: meta.entityId, idpCertificates: meta.certificates }),
      idpEntityId: meta.entityId,
      idpSsoUrl: meta.ssoUrl,
      idpCertificates: meta.certificates,
    });
    // The same field rules as PUT (lengths, control characters, URL).
    const errors = validateSync(input, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      throw new AppError('invalid-saml-config', 'The metadata holds values that cannot be used', {
        errors: errors.map((e) => ({
          field: e.property,
          messages: Object.values(e.constraints ?? { invalid: 'is not valid' }),
        })),
      });
    }
    return this.put(access, actorId, input);
  }

  async remove(access: OrgAccess, actorId: string): Promise<void> {
    const { orgId } = access;
    await this.db.transaction(async (em) => {
      if ((await lockOrgAndReadRole(em, orgId, actorId)) !== 'owner') {
        throw new AppError('forbidden', 'Only an owner can remove the SAML connection');
      }
      const res = await em.delete(SamlConnection, { orgId });
      if (!res.affected)
        throw new AppError('sso-not-configured', 'This org has no SAML connection');
      await this.audit.record(em, {
        action: 'sso.connection_deleted',
        orgId,
        targetType: 'saml_connection',
        targetId: orgId,
      });
    });
  }

  private summary(c: SamlConnection): Record<string, unknown> {
    return {
      enabled: c.enabled,
      idpEntityId: c.idpEntityId,
      certificates: c.idpCertificates.map((p) => certificateInfo(p)?.sha256 ?? null),
      signatureMode: c.signatureMode,
      ssoRequired: c.ssoRequired,
      jitProvisioning: c.jitProvisioning,
      allowIdpInitiated: c.allowIdpInitiated,
      allowedDomains: c.allowedDomains,
      defaultRole: c.defaultRole,
      groupRoles: c.groupRoles,
    };
  }

  private changedFields(before: SamlConnection, after: SamlConnection): string[] {
    const keys: (keyof SamlConnection)[] = [
      'enabled',
      'idpEntityId',
      'idpSsoUrl',
      'idpCertificates',
      'signatureMode',
      'attributeMapping',
      'groupRoles',
      'defaultRole',
      'jitProvisioning',
      'ssoRequired',
      'allowIdpInitiated',
      'allowedDomains',
    ];
    return keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  }

  /** Loads the org by slug with its enabled connection and the node-saml options for it. */
  async context(slug: string): Promise<SamlContext> {
    if (!SLUG.test(slug)) throw new SamlRejection('not-configured', 'No such org');
    const row = await this.db
      .getRepository(Org)
      .createQueryBuilder('o')
      .leftJoinAndMapOne('o.connection', SamlConnection, 'c', 'c.org_id = o.id AND c.enabled')
      .where('o.slug = :slug', { slug })
      .getOne();
    if (!row) throw new SamlRejection('not-configured', 'No such org');
    const connection = (row as Org & { connection?: SamlConnection | null }).connection;
    if (!connection) {
      throw new SamlRejection('not-configured', 'This org has no enabled SAML connection', row.id);
    }
    const sp = this.serviceProvider(row.slug);
    const ttlMs = this.config.SAML_REQUEST_TTL_SECONDS * 1000;
    const mode = connection.signatureMode;
    const options: SamlConfig = {
      entryPoint: connection.idpSsoUrl,
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      audience: sp.entityId,
      // Only the pinned certificates count; a certificate inside the message's KeyInfo never does.
      idpCert: connection.idpCertificates,
      idpIssuer: connection.idpEntityId,
      wantAssertionsSigned: mode === 'assertion' || mode === 'both',
      wantAuthnResponseSigned: mode === 'response' || mode === 'both',
      validateInResponseTo: connection.allowIdpInitiated
        ? ValidateInResponseTo.ifPresent
        : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: ttlMs,
      acceptedClockSkewMs: this.config.SAML_CLOCK_SKEW_SECONDS * 1000,
      cacheProvider: new RedisSamlCache(this.redis, row.id, ttlMs),
      identifierFormat: EMAIL_NAME_ID,
      // Let the IdP pick the authentication method (MFA, passkeys) instead of demanding a password.
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      ...(this.spKey ? { privateKey: this.spKey.privateKeyPem } : {}),
    };
    return { org: { id: row.id, slug: row.slug }, connection, sp, options };
  }
}
