import { randomBytes } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { domainToASCII } from 'node:url';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull, Not } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import { AppConfig } from '../config/app-config';
import { lockOrgAndReadRole } from '../orgs/org-lock';
import type { DomainDto } from './dto/saml.dto';
import { OrgDomain } from './entities/org-domain.entity';

export const CHALLENGE_LABEL = '_instatunnel-challenge';
const TOKEN_PREFIX = 'instatunnel-verification=';
const MAX_DOMAINS_PER_ORG = 50;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-case ASCII (punycode) form of a domain name, or null when it is not one we accept. */
export function normalizeDomain(input: string): string | null {
  const ascii = domainToASCII(input.trim().toLowerCase().replace(/\.$/, ''));
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return null; // an IP address, not a domain
  return ascii;
}

/**
 * Email domains an org proves it controls with a DNS TXT record. Only verified domains can be
 * allowed for SSO, and a domain is verified by one org at a time: its IdP then speaks for every
 * address in it.
 */
@Injectable()
export class DomainsService {
  private readonly logger = new Logger(DomainsService.name);
  private readonly resolver: dns.Resolver;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    config: AppConfig,
  ) {
    this.resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
    if (config.DNS_SERVERS) this.resolver.setServers(config.DNS_SERVERS.split(','));
  }

  private toDto(d: OrgDomain): DomainDto {
    return {
      domain: d.domain,
      verified: d.verifiedAt !== null,
      verifiedAt: d.verifiedAt?.toISOString() ?? null,
      recordName: `${CHALLENGE_LABEL}.${d.domain}`,
      recordValue: TOKEN_PREFIX + d.verificationToken,
      lastCheckedAt: d.lastCheckedAt?.toISOString() ?? null,
      createdAt: d.createdAt.toISOString(),
    };
  }

  private parse(raw: string): string {
    const domain = normalizeDomain(raw);
    if (!domain) {
      throw new AppError('validation-error', 'Not a valid domain name', {
        errors: [{ field: 'domain', messages: ['must be a domain name such as corp.example'] }],
      });
    }
    return domain;
  }

  async list(orgId: string): Promise<DomainDto[]> {
    const rows = await this.db.getRepository(OrgDomain).find({
      where: { orgId },
      order: { domain: 'ASC' },
    });
    return rows.map((r) => this.toDto(r));
  }

  async add(orgId: string, actorId: string, rawDomain: string): Promise<DomainDto> {
    const domain = this.parse(rawDomain);
    try {
      return await this.db.transaction(async (em) => {
        const count = await em.countBy(OrgDomain, { orgId });
        if (count >= MAX_DOMAINS_PER_ORG) {
          throw new AppError(
            'conflict',
            `An org can register at most ${MAX_DOMAINS_PER_ORG} domains`,
          );
        }
        const row = em.create(OrgDomain, {
          orgId,
          domain,
          verificationToken: randomBytes(20).toString('hex'),
          verifiedAt: null,
          lastCheckedAt: null,
          createdByUserId: actorId,
        });
        await em.save(row);
        await this.audit.record(em, {
          action: 'domain.added',
          orgId,
          targetType: 'domain',
          targetId: row.id,
          metadata: { domain },
        });
        return this.toDto(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'The org already has this domain');
      throw err;
    }
  }

  private async txtValues(name: string): Promise<string[]> {
    try {
      const records = await this.resolver.resolveTxt(name);
      return records.map((chunks) => chunks.join(''));
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
      this.logger.warn({ code, name }, 'domain verification lookup failed');
      throw new AppError('domain-not-verified', `The DNS lookup of ${name} failed (${code})`);
    }
  }

  async verify(orgId: string, rawDomain: string): Promise<DomainDto> {
    const domain = this.parse(rawDomain);
    const repo = this.db.getRepository(OrgDomain);
    const row = await repo.findOneBy({ orgId, domain });
    if (!row) throw new AppError('not-found', 'The org has no such domain');
    if (row.verifiedAt) return this.toDto(row);
    const name = `${CHALLENGE_LABEL}.${domain}`;
    const found = (await this.txtValues(name)).includes(TOKEN_PREFIX + row.verificationToken);
    const now = new Date();
    if (!found) {
      await repo.update({ id: row.id }, { lastCheckedAt: now });
      throw new AppError(
        'domain-not-verified',
        `No TXT record "${TOKEN_PREFIX}${row.verificationToken}" at ${name} yet (DNS changes can take a while)`,
      );
    }
    const taken = await repo.findOneBy({ domain, verifiedAt: Not(IsNull()), orgId: Not(orgId) });
    if (taken) throw new AppError('domain-taken', 'Another org has already verified this domain');
    try {
      await this.db.transaction(async (em) => {
        await em.update(OrgDomain, { id: row.id }, { verifiedAt: now, lastCheckedAt: now });
        await this.audit.record(em, {
          action: 'domain.verified',
          orgId,
          targetType: 'domain',
          targetId: row.id,
          metadata: { domain },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new AppError('domain-taken', 'Another org has already verified this domain');
      }
      throw err;
    }
    return this.toDto({ ...row, verifiedAt: now, lastCheckedAt: now });
  }

  async remove(orgId: string, actorId: string, rawDomain: string): Promise<void> {
    const domain = this.parse(rawDomain);
    await this.db.transaction(async (em) => {
      const actorRole = await lockOrgAndReadRole(em, orgId, actorId);
      const row = await em.findOneBy(OrgDomain, { orgId, domain });
      if (!row) throw new AppError('not-found', 'The org has no such domain');
      const conn: { allowed: string[]; required: boolean }[] = await em.query(
        `SELECT allowed_domains AS allowed, sso_required AS required FROM saml_connections
          WHERE org_id = $1 FOR UPDATE`,
        [orgId],
      );
      if (conn[0]?.allowed.includes(domain)) {
        // Taking a domain off the SAML connection changes whom the IdP speaks for: owners only.
        if (actorRole !== 'owner') {
          throw new AppError(
            'forbidden',
            'Only an owner can remove a domain the SAML connection allows',
          );
        }
        if (conn[0].required && conn[0].allowed.length === 1) {
          throw new AppError(
            'conflict',
            'This is the last domain that can log in while SSO is required; turn SSO required off first',
          );
        }
      }
      await em.delete(OrgDomain, { id: row.id });
      // The SAML connection stops accepting the domain with it.
      await em.query(
        `UPDATE saml_connections SET allowed_domains = array_remove(allowed_domains, $2),
                generation = generation + 1, updated_at = now()
         WHERE org_id = $1 AND $2 = ANY(allowed_domains)`,
        [orgId, domain],
      );
      await this.audit.record(em, {
        action: 'domain.removed',
        orgId,
        targetType: 'domain',
        targetId: row.id,
        metadata: { domain },
      });
    });
  }

  /** The subset of `domains` the org has verified. */
  async verifiedAmong(orgId: string, domains: string[]): Promise<Set<string>> {
    if (domains.length === 0) return new Set();
    const rows: { domain: string }[] = await this.db.query(
      `SELECT domain FROM org_domains WHERE org_id = $1 AND verified_at IS NOT NULL AND domain = ANY($2)`,
      [orgId, domains],
    );
    return new Set(rows.map((r) => r.domain));
  }
}
