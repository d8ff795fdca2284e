import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import {
  compilePolicy,
  evaluate,
  type CompiledPolicy,
  type Decision,
  type RequestFacts,
} from '@instatunnel/policy-engine';
import { RedisService } from '../redis/redis.service';
import { PolicyRateLimiter } from '../security/policy-rate-limiter';

export interface OrgPolicies {
  org: CompiledPolicy | null;
  byName: Map<string, CompiledPolicy>;
  /** Some rule verifies webhooks: the ingress must buffer bodies (up to its limit) for this org. */
  needsBody: boolean;
}

const EMPTY: CompiledPolicy[] = [];

/**
 * Compiled policies per org, in memory on every node. Changes are announced on Redis pub/sub and
 * drop the org's entry, so the next request compiles the new version: every node follows within
 * a round trip, and a request sees either the old policy or the new one, never a mix.
 */
@Injectable()
export class PolicyEnforcer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PolicyEnforcer.name);
  private readonly cache = new Map<string, OrgPolicies>();
  private readonly loading = new Map<string, Promise<OrgPolicies>>();
  private subscriber?: Redis;
  readonly channel: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisService,
    private readonly limiter: PolicyRateLimiter,
  ) {
    this.channel = redis.key('pol', 'changed');
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.client.duplicate();
    this.subscriber.on('error', (err: Error) => this.logger.warn(`policy channel: ${err.message}`));
    this.subscriber.on('message', (_c: string, orgId: string) => {
      this.cache.delete(orgId);
      this.loading.delete(orgId);
    });
    await this.subscriber
      .subscribe(this.channel)
      .catch((err: Error) => this.logger.warn(`subscribe failed: ${err.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  /** Announces a change (after the transaction committed). */
  async changed(orgId: string): Promise<void> {
    this.cache.delete(orgId);
    await this.redis.client.publish(this.channel, orgId);
  }

  cached(orgId: string): OrgPolicies | undefined {
    return this.cache.get(orgId);
  }

  load(orgId: string): Promise<OrgPolicies> {
    let p = this.loading.get(orgId);
    if (!p) {
      p = this.fetch(orgId).finally(() => this.loading.delete(orgId));
      this.loading.set(orgId, p);
    }
    return p;
  }

  private async fetch(orgId: string): Promise<OrgPolicies> {
    const rows: { name: string | null; document: unknown }[] = await this.db.query(
      `SELECT r.name, v.document FROM policies p
         JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.current_version
         LEFT JOIN reserved_names r ON r.id = p.reserved_name_id
        WHERE p.org_id = $1`,
      [orgId],
    );
    const entry: OrgPolicies = { org: null, byName: new Map(), needsBody: false };
    for (const row of rows) {
      const compiled = compilePolicy(row.document).policy;
      if (!compiled) continue; // stored documents were validated; a later stricter engine skips, never crashes
      if (compiled.rules.some((r) => r.actions.some((a) => a.type === 'verify-webhook')))
        entry.needsBody = true;
      if (row.name === null) entry.org = compiled;
      else entry.byName.set(row.name, compiled);
    }
    this.cache.set(orgId, entry);
    return entry;
  }

  /** The org's default first, then the reserved name's. */
  policiesFor(entry: OrgPolicies, name: string): CompiledPolicy[] {
    const named = entry.byName.get(name);
    if (!entry.org) return named ? [named] : EMPTY;
    return named ? [entry.org, named] : [entry.org];
  }

  async decide(policies: CompiledPolicy[], facts: RequestFacts): Promise<Decision> {
    let merged: Decision | undefined;
    for (const p of policies) {
      const d = await evaluate(p, facts, this.limiter);
      if (!merged) merged = d;
      else {
        merged.matchedRules.push(...d.matchedRules);
        merged.actionsRun.push(...d.actionsRun);
        merged.requestHeaders = {
          set: { ...merged.requestHeaders.set, ...d.requestHeaders.set },
          remove: [...merged.requestHeaders.remove, ...d.requestHeaders.remove],
        };
        merged.responseHeaders = {
          set: { ...merged.responseHeaders.set, ...d.responseHeaders.set },
          remove: [...merged.responseHeaders.remove, ...d.responseHeaders.remove],
        };
        if (d.outcome === 'respond')
          Object.assign(merged, {
            outcome: d.outcome,
            status: d.status,
            headers: d.headers,
            body: d.body,
            blockedBy: d.blockedBy,
          });
      }
      if (merged.outcome === 'respond') break;
    }
    return merged!;
  }
}
