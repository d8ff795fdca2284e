import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface BlockEvent {
  orgId: string;
  tunnel: string;
  rule: string;
  action: string;
  reason: string;
  clientIp: string;
  method: string;
  path: string;
  status: number;
}

interface Bucket extends BlockEvent {
  minute: Date;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
}

const FLUSH_MS = 1000;
const MAX_BUCKETS = 10_000;
const BATCH = 500;

/**
 * Block events leave the request path at once: they are counted in memory per
 * (org, tunnel, rule, action, ip, minute) and written in batches every second as upserts. A flood
 * of a million denied requests from one address is one row with a count, and a flood from many
 * addresses is capped at MAX_BUCKETS pending rows (the excess is counted in `dropped`).
 */
@Injectable()
export class BlockEventWriter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(BlockEventWriter.name);
  private buckets = new Map<string, Bucket>();
  private timer?: NodeJS.Timeout;
  dropped = 0;
  written = 0;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  record(e: BlockEvent): void {
    const now = new Date();
    const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const key = `${e.orgId}|${e.tunnel}|${e.rule}|${e.action}|${e.clientIp}|${minute.getTime()}`;
    const b = this.buckets.get(key);
    if (b) {
      b.count++;
      b.lastSeen = now;
      return;
    }
    if (this.buckets.size >= MAX_BUCKETS) {
      this.dropped++;
      return;
    }
    this.buckets.set(key, {
      ...e,
      path: e.path.slice(0, 512),
      minute,
      count: 1,
      firstSeen: now,
      lastSeen: now,
    });
  }

  async flush(): Promise<void> {
    if (this.buckets.size === 0) return;
    const pending = [...this.buckets.values()];
    this.buckets = new Map();
    for (let i = 0; i < pending.length; i += BATCH) {
      const chunk = pending.slice(i, i + BATCH);
      const params: unknown[] = [];
      const rows = chunk.map((b) => {
        const base = params.length;
        params.push(
          b.orgId,
          b.tunnel,
          b.rule,
          b.action,
          b.reason,
          b.clientIp,
          b.method,
          b.path,
          b.status,
          b.minute,
          b.count,
          b.firstSeen,
          b.lastSeen,
        );
        return `(${Array.from({ length: 13 }, (_, j) => `$${base + j + 1}`).join(',')})`;
      });
      try {
        await this.db.query(
          `INSERT INTO traffic_policy_events (org_id, tunnel, rule, action, reason, client_ip, method, path, status, minute, count, first_seen, last_seen)
           VALUES ${rows.join(',')}
           ON CONFLICT (org_id, tunnel, rule, action, client_ip, minute)
           DO UPDATE SET count = traffic_policy_events.count + EXCLUDED.count, last_seen = EXCLUDED.last_seen`,
          params,
        );
        this.written += chunk.length;
      } catch (err) {
        this.dropped += chunk.length;
        this.logger.error({ err }, 'could not write policy block events');
      }
    }
  }
}
