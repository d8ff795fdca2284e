import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';

/** Tunnel lifecycle audit events, written off the data path; a failure is logged, never thrown at the agent. */
@Injectable()
export class TunnelEvents {
  private readonly logger = new Logger(TunnelEvents.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
  ) {}

  record(
    orgId: string,
    action: 'tunnel.opened' | 'tunnel.closed' | 'tunnel.refused',
    actor: { apiKeyId: string } | null,
    targetId: string | null,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    return this.db
      .transaction((em) =>
        this.audit.record(em, {
          orgId,
          action,
          actorType: actor ? 'api_key' : 'system',
          actorId: actor?.apiKeyId ?? null,
          targetType: 'tunnel',
          targetId,
          metadata,
        }),
      )
      .then(
        () => undefined,
        (err: Error) => this.logger.error({ err, action, orgId }, 'could not record tunnel event'),
      );
  }
}
