import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { checkName } from '@instatunnel/tunnel-protocol';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import type { OrgAccess, Principal } from '../identity/principal';
import { RedisService } from '../redis/redis.service';
import type { LiveTunnelDto, ReservedNameDto } from './dto/tunnel.dto';
import { ReservedName } from './entities/reserved-name.entity';
import { TunnelRegistry } from './tunnel-registry';

interface ControlMessage {
  type: 'close';
  tunnelId: string;
  reason: string;
}

/** Tunnel management for the API: list, force-close (on whichever node holds it), reserved names. */
@Injectable()
export class TunnelsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TunnelsService.name);
  private subscriber?: Redis;
  private readonly channel: string;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: TunnelRegistry,
    private readonly redis: RedisService,
    private readonly audit: AuditService,
  ) {
    this.channel = redis.key('tun', 'control');
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber = this.redis.client.duplicate();
    this.subscriber.on('error', (err: Error) =>
      this.logger.warn(`control channel: ${err.message}`),
    );
    this.subscriber.on('message', (_ch: string, raw: string) => {
      try {
        const msg = JSON.parse(raw) as ControlMessage;
        if (msg.type === 'close') this.registry.get(msg.tunnelId)?.close(msg.reason, 4000);
      } catch {
        this.logger.warn('ignored a malformed control message');
      }
    });
    await this.subscriber
      .subscribe(this.channel)
      .catch((err: Error) => this.logger.warn(`subscribe failed: ${err.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  list(orgId: string): Promise<LiveTunnelDto[]> {
    return this.registry.listOrg(orgId);
  }

  async forceClose(access: OrgAccess, principal: Principal, tunnelId: string): Promise<void> {
    const live = (await this.registry.listOrg(access.orgId)).find((t) => t.id === tunnelId);
    if (!live) throw new AppError('not-found', 'No such live tunnel');
    await this.db.transaction((em) =>
      this.audit.record(em, {
        orgId: access.orgId,
        action: 'tunnel.force_closed',
        targetType: 'tunnel',
        targetId: tunnelId,
        metadata: { name: live.name, node: live.node },
      }),
    );
    const reason = `closed by ${principal.user.email}`;
    const local = this.registry.get(tunnelId);
    if (local) local.close(reason, 4000);
    else
      await this.redis.client.publish(
        this.channel,
        JSON.stringify({ type: 'close', tunnelId, reason } satisfies ControlMessage),
      );
  }

  async listReserved(orgId: string): Promise<ReservedNameDto[]> {
    const rows = await this.db
      .getRepository(ReservedName)
      .find({ where: { orgId }, order: { createdAt: 'ASC' } });
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      url: this.registry.publicUrl(r.name),
      createdAt: r.createdAt,
    }));
  }

  async reserve(
    access: OrgAccess,
    principal: Principal,
    rawName: string,
  ): Promise<ReservedNameDto> {
    const name = rawName.trim().toLowerCase();
    const problem = checkName(name);
    if (problem) {
      const message =
        problem === 'reserved'
          ? `"${name}" is reserved by the platform`
          : 'name must be 3-63 characters of a-z, 0-9 and inner hyphens';
      throw new AppError('validation-error', message, {
        errors: [{ field: 'name', messages: [message] }],
      });
    }
    const liveOwner = await this.redis.client.get(this.redis.key('tun', 'name', name));
    if (liveOwner && liveOwner !== access.orgId)
      throw new AppError('tunnel-name-taken', `"${name}" is in use by another org`);
    try {
      const row = await this.db.transaction(async (em) => {
        const saved = await em.save(
          em.create(ReservedName, {
            orgId: access.orgId,
            name,
            createdByUserId: principal.user.id,
          }),
        );
        await this.audit.record(em, {
          orgId: access.orgId,
          action: 'reserved_name.created',
          targetType: 'reserved_name',
          targetId: saved.id,
          metadata: { name },
        });
        return saved;
      });
      return {
        id: row.id,
        name: row.name,
        url: this.registry.publicUrl(row.name),
        createdAt: row.createdAt,
      };
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('tunnel-name-taken', `"${name}" is already reserved`);
      throw err;
    }
  }

  async release(access: OrgAccess, id: string): Promise<void> {
    await this.db.transaction(async (em) => {
      const row = await em.findOneBy(ReservedName, { id, orgId: access.orgId });
      if (!row) throw new AppError('not-found', 'No such reserved name');
      await em.delete(ReservedName, { id });
      await this.audit.record(em, {
        orgId: access.orgId,
        action: 'reserved_name.deleted',
        targetType: 'reserved_name',
        targetId: id,
        metadata: { name: row.name },
      });
    });
  }
}
