import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import type { AgentConnection, ConnectionInfo } from './agent-connection';

/** Several agents of one org on one name: requests go round-robin. */
export class Pool {
  readonly connections: AgentConnection[] = [];
  private next = 0;

  constructor(readonly orgId: string) {}

  pick(): AgentConnection | undefined {
    const n = this.connections.length;
    if (n === 0) return undefined;
    if (n === 1) return this.connections[0];
    const c = this.connections[this.next % n];
    this.next = (this.next + 1) % n;
    return c;
  }
}

// Claims a name for an org: refused when another org holds it live, or held it recently.
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 'taken' end
if not owner then
  local hold = redis.call('GET', KEYS[2])
  if hold and hold ~= ARGV[1] then return 'held' end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 'ok'`;

// Admits a tunnel under the org's quota: expired members are dropped first. Scores are expiry times.
const ADMIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export type ClaimResult = 'ok' | 'taken' | 'held';

export interface LiveTunnel extends Omit<ConnectionInfo, 'since'> {
  since: string;
  node: string;
  url: string;
  requests: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Live tunnels. The hot path reads the local map only; Redis holds what all nodes must agree
 * on (who owns a name, per-org quota, the org-wide list) with TTLs that heartbeats refresh, so a
 * dead node's entries expire on their own.
 */
@Injectable()
export class TunnelRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger(TunnelRegistry.name);
  private readonly pools = new Map<string, Pool>();
  private readonly byId = new Map<string, AgentConnection>();
  readonly nodeId = `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.ttlMs = 3 * config.AGENT_PING_INTERVAL_MS;
    this.internalUrl = config.NODE_INTERNAL_URL ?? '';
  }

  /** This node's ingress as other nodes reach it (set once the ingress knows its port). */
  internalUrl: string;

  lookup(name: string): Pool | undefined {
    return this.pools.get(name);
  }

  get(id: string): AgentConnection | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<AgentConnection> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  get names(): number {
    return this.pools.size;
  }

  private closedBytes = { in: 0, out: 0 };

  /** Body bytes through every connection this node has served, live and closed. */
  byteTotals(): { in: number; out: number } {
    let i = this.closedBytes.in;
    let o = this.closedBytes.out;
    for (const c of this.byId.values()) {
      i += c.bytesIn;
      o += c.bytesOut;
    }
    return { in: i, out: o };
  }

  publicUrl(name: string): string {
    const c = this.config;
    const port = c.TUNNEL_PUBLIC_PORT >= 0 ? c.TUNNEL_PUBLIC_PORT : c.INGRESS_PORT;
    const defaultPort = c.TUNNEL_PUBLIC_SCHEME === 'https' ? 443 : 80;
    return `${c.TUNNEL_PUBLIC_SCHEME}://${name}.${c.TUNNEL_DOMAIN}${port === defaultPort || port === 0 ? '' : `:${port}`}`;
  }

  private k(...parts: string[]) {
    return this.redis.key('tun', ...parts);
  }

  async claimName(name: string, orgId: string): Promise<ClaimResult> {
    return (await this.redis.client.eval(
      CLAIM,
      2,
      this.k('name', name),
      this.k('hold', name),
      orgId,
      this.ttlMs,
    )) as ClaimResult;
  }

  async admit(orgId: string, tunnelId: string): Promise<boolean> {
    const now = Date.now();
    const admitted = await this.redis.client.eval(
      ADMIT,
      1,
      this.k('org', orgId),
      now,
      this.config.TUNNELS_PER_ORG,
      now + this.ttlMs,
      tunnelId,
      this.ttlMs,
    );
    return admitted === 1;
  }

  async add(conn: AgentConnection): Promise<void> {
    const { name, orgId, id } = conn.info;
    let pool = this.pools.get(name);
    if (!pool) {
      pool = new Pool(orgId);
      this.pools.set(name, pool);
    }
    pool.connections.push(conn);
    this.byId.set(id, conn);
    await this.publish(conn);
  }

  /** Removes a connection; when the name has no agent left, it is released (ephemeral names are held a while). */
  async remove(conn: AgentConnection): Promise<void> {
    const { name, orgId, id, ephemeral } = conn.info;
    if (!this.byId.delete(id)) return;
    this.closedBytes.in += conn.bytesIn;
    this.closedBytes.out += conn.bytesOut;
    const pool = this.pools.get(name);
    if (pool) {
      const i = pool.connections.indexOf(conn);
      if (i >= 0) pool.connections.splice(i, 1);
      if (pool.connections.length === 0) this.pools.delete(name);
    }
    const multi = this.redis.client.multi().del(this.k('conn', id)).zrem(this.k('org', orgId), id);
    if (!this.pools.has(name)) {
      multi.srem(this.k('nodes', name), this.nodeId);
      multi.eval(
        `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
        1,
        this.k('name', name),
        orgId,
      );
      if (ephemeral && this.config.NAME_HOLD_SECONDS > 0)
        multi.set(this.k('hold', name), orgId, 'EX', this.config.NAME_HOLD_SECONDS);
    }
    await multi.exec();
  }

  /** Undoes claim and quota admission for a tunnel that never became a live connection. */
  async releaseClaim(name: string, orgId: string, tunnelId?: string): Promise<void> {
    if (tunnelId) await this.redis.client.zrem(this.k('org', orgId), tunnelId);
    if (this.pools.has(name)) return;
    await this.redis.client.eval(
      `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
      1,
      this.k('name', name),
      orgId,
    );
  }

  private describe(conn: AgentConnection): LiveTunnel {
    return {
      ...conn.info,
      since: conn.info.since.toISOString(),
      node: this.nodeId,
      url: this.publicUrl(conn.info.name),
      requests: conn.requests,
      bytesIn: conn.bytesIn,
      bytesOut: conn.bytesOut,
    };
  }

  private async publish(conn: AgentConnection): Promise<void> {
    const expiresAt = Date.now() + this.ttlMs;
    await this.redis.client
      .multi()
      .sadd(this.k('nodes', conn.info.name), this.nodeId)
      .pexpire(this.k('nodes', conn.info.name), this.ttlMs)
      .set(this.k('node', this.nodeId), this.internalUrl, 'PX', this.ttlMs)
      .set(this.k('conn', conn.info.id), JSON.stringify(this.describe(conn)), 'PX', this.ttlMs)
      .set(this.k('name', conn.info.name), conn.info.orgId, 'PX', this.ttlMs)
      .zadd(this.k('org', conn.info.orgId), expiresAt, conn.info.id)
      .pexpire(this.k('org', conn.info.orgId), this.ttlMs)
      .exec();
  }

  /** Heartbeat: refresh every local entry's TTL and counters in one pipeline. */
  async refresh(): Promise<void> {
    if (this.byId.size === 0) return;
    await Promise.all([...this.byId.values()].map((c) => this.publish(c))).catch((err: Error) =>
      this.logger.warn(`registry refresh failed: ${err.message}`),
    );
  }

  /** Internal ingress URLs of the other live nodes that hold an agent for `name` (one round trip). */
  async remoteNodes(name: string): Promise<string[]> {
    const urls = (await this.redis.client.eval(
      `local out = {}
       for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
         if node ~= ARGV[1] then
           local url = redis.call('GET', ARGV[2] .. node)
           if url then table.insert(out, url) end
         end
       end
       return out`,
      1,
      this.k('nodes', name),
      this.nodeId,
      this.k('node', ''),
    )) as string[];
    return urls.filter((u) => u !== '');
  }

  /** Every live tunnel of an org, across all nodes. */
  async listOrg(orgId: string): Promise<LiveTunnel[]> {
    const ids = await this.redis.client.zrangebyscore(this.k('org', orgId), Date.now(), '+inf');
    if (ids.length === 0) return [];
    const raw = await this.redis.client.mget(ids.map((id) => this.k('conn', id)));
    return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as LiveTunnel);
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const conn of [...this.byId.values()]) {
      conn.close('server shutting down', 1012);
      await this.remove(conn).catch(() => undefined);
    }
  }
}
