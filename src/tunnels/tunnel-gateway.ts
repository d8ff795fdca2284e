import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { WebSocketServer } from 'ws';
import {
  AGENT_VERSION_HEADER,
  checkName,
  CONNECT_PATH,
  friendlyName,
  NAME_HEADER,
  TUNNEL_ID_HEADER,
  URL_HEADER,
} from '@instatunnel/tunnel-protocol';
import { AppError } from '../common/app-error';
import { toProblem } from '../common/problem.filter';
import { buildProblem, PROBLEMS, ProblemKind } from '../common/problem';
import { requestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { AccessService } from '../identity/access.service';
import { ApiKeysService } from '../identity/api-keys.service';
import type { ApiKeyPrincipal } from '../identity/principal';
import { AgentConnection } from './agent-connection';
import { ReservedName } from './entities/reserved-name.entity';
import { TunnelEvents } from './tunnel-events.service';
import { TunnelRegistry } from './tunnel-registry';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface Accepted {
  principal: ApiKeyPrincipal;
  name: string;
  ephemeral: boolean;
  tunnelId: string;
}

/**
 * The agent endpoint. Authentication, the `tunnels:connect` scope, the name and the org's quota
 * are all settled on the plain HTTP request, before the WebSocket upgrade is accepted, so a refused
 * agent gets an ordinary status with a problem+json body it can print.
 */
@Injectable()
export class TunnelGateway implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TunnelGateway.name);
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  private heartbeat?: NodeJS.Timeout;
  private keyCheck?: NodeJS.Timeout;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly apiKeys: ApiKeysService,
    private readonly access: AccessService,
    private readonly registry: TunnelRegistry,
    private readonly events: TunnelEvents,
    private readonly config: AppConfig,
    @InjectRepository(ReservedName) private readonly reserved: Repository<ReservedName>,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as
      import('node:http').Server | undefined;
    if (!server) return;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      const path = (req.url ?? '').split('?')[0];
      if (path !== CONNECT_PATH)
        return this.refuse(socket, req, 'not-found', 'No WebSocket endpoint at this path');
      void this.handle(req, socket, head);
    });
    const interval = this.config.AGENT_PING_INTERVAL_MS;
    this.heartbeat = setInterval(() => {
      for (const c of this.registry.all()) c.heartbeat(interval * 2);
      void this.registry.refresh();
    }, interval);
    this.heartbeat.unref();
    this.keyCheck = setInterval(() => void this.closeRevoked(), 5000);
    this.keyCheck.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.keyCheck);
    this.wss.close();
  }

  private refuse(
    socket: Duplex,
    req: IncomingMessage,
    kind: ProblemKind,
    detail?: string,
    headers: Record<string, string> = {},
  ): void {
    const status = PROBLEMS[kind].status;
    const rid = String(req.headers['x-request-id'] ?? '');
    const body = JSON.stringify(
      buildProblem(kind, detail, CONNECT_PATH, REQUEST_ID.test(rid) ? rid : randomUUID()),
    );
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`,
    );
  }

  private clientIp(req: IncomingMessage): string | null {
    return req.socket.remoteAddress ?? null;
  }

  private async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const rid = String(req.headers['x-request-id'] ?? '');
    const ua = req.headers['user-agent'];
    await requestContext.run(
      {
        requestId: REQUEST_ID.test(rid) ? rid : randomUUID(),
        ip: this.clientIp(req),
        userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
      },
      async () => {
        let accepted: Accepted | undefined;
        try {
          accepted = await this.authorize(req);
        } catch (err) {
          const p = toProblem(err);
          if (PROBLEMS[p.kind].status >= 500) this.logger.error({ err }, 'tunnel connect failed');
          return this.refuse(socket, req, p.kind, p.detail, p.headers);
        }
        if (socket.destroyed)
          return void this.registry.releaseClaim(
            accepted.name,
            accepted.principal.apiKey.orgId,
            accepted.tunnelId,
          );
        this.accept(req, socket, head, accepted);
      },
    );
  }

  private async authorize(req: IncomingMessage): Promise<Accepted> {
    const auth = req.headers.authorization;
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (!m)
      throw new AppError('unauthenticated', 'Send the API key as "Authorization: Bearer <key>"');
    const principal = await this.apiKeys.authenticate(m[1], this.clientIp(req));
    const store = requestContext.get();
    if (store) store.principal = principal;
    const orgId = principal.apiKey.orgId;
    const access = await this.access.resolve(principal, orgId);
    const refuse = async (
      kind: ProblemKind,
      detail: string,
      name: string | null,
    ): Promise<never> => {
      await this.events.record(orgId, 'tunnel.refused', { apiKeyId: principal.apiKey.id }, null, {
        reason: kind,
        name,
        detail,
      });
      throw new AppError(kind, detail);
    };
    if (!access.scopes.has('tunnels:connect'))
      await refuse('insufficient-scope', 'Missing scope: tunnels:connect', null);

    const requested = req.headers[NAME_HEADER];
    let name: string;
    let ephemeral: boolean;
    if (typeof requested === 'string' && requested !== '') {
      name = requested.trim().toLowerCase();
      const problem = checkName(name);
      if (problem === 'invalid')
        await refuse(
          'invalid-tunnel-name',
          'A tunnel name is 3-63 characters of a-z, 0-9 and inner hyphens',
          name,
        );
      if (problem === 'reserved')
        await refuse('invalid-tunnel-name', `"${name}" is reserved by the platform`, name);
      const reservation = await this.reserved.findOneBy({ name });
      if (reservation && reservation.orgId !== orgId)
        await refuse('tunnel-name-taken', `"${name}" is reserved by another org`, name);
      ephemeral = !reservation;
      const claim = await this.registry.claimName(name, orgId);
      if (claim !== 'ok')
        await refuse('tunnel-name-taken', `"${name}" is in use by another org`, name);
    } else {
      ephemeral = true;
      name = '';
      for (let i = 0; i < 8 && !name; i++) {
        const candidate = friendlyName();
        if (
          (await this.reserved.existsBy({ name: candidate })) ||
          (await this.registry.claimName(candidate, orgId)) !== 'ok'
        )
          continue;
        name = candidate;
      }
      if (!name) throw new AppError('service-unavailable', 'Could not find a free name; retry');
    }
    const tunnelId = randomUUID();
    if (!(await this.registry.admit(orgId, tunnelId))) {
      await this.registry.releaseClaim(name, orgId);
      await refuse(
        'tunnel-quota-exceeded',
        `The org already has ${this.config.TUNNELS_PER_ORG} live tunnels`,
        name,
      );
    }
    return { principal, name, ephemeral, tunnelId };
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, a: Accepted): void {
    const url = this.registry.publicUrl(a.name);
    const onHeaders = (headers: string[], r: IncomingMessage) => {
      if (r !== req) return;
      headers.push(
        `${URL_HEADER}: ${url}`,
        `${NAME_HEADER}: ${a.name}`,
        `${TUNNEL_ID_HEADER}: ${a.tunnelId}`,
      );
    };
    this.wss.on('headers', onHeaders);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.wss.off('headers', onHeaders);
      const version = req.headers[AGENT_VERSION_HEADER];
      const conn = new AgentConnection(
        {
          id: a.tunnelId,
          name: a.name,
          orgId: a.principal.apiKey.orgId,
          apiKeyId: a.principal.apiKey.id,
          userId: a.principal.user.id,
          agentIp: this.clientIp(req),
          agentVersion: typeof version === 'string' ? version.slice(0, 32) : null,
          ephemeral: a.ephemeral,
          since: new Date(),
        },
        ws,
      );
      void this.register(conn);
    });
  }

  private async register(conn: AgentConnection): Promise<void> {
    const { info } = conn;
    const ready = await conn.ready();
    if (!ready) {
      conn.close('agent did not start HTTP/2', 1002);
      await this.registry.releaseClaim(info.name, info.orgId, info.id);
      return;
    }
    await this.registry.add(conn);
    conn.onClose((reason) => {
      void this.registry.remove(conn);
      void this.events.record(info.orgId, 'tunnel.closed', null, info.id, {
        name: info.name,
        reason,
        requests: conn.requests,
        bytesIn: conn.bytesIn,
        bytesOut: conn.bytesOut,
      });
      this.logger.log({ tunnelId: info.id, name: info.name, reason }, 'tunnel closed');
    });
    await this.events.record(info.orgId, 'tunnel.opened', { apiKeyId: info.apiKeyId }, info.id, {
      name: info.name,
      ephemeral: info.ephemeral,
      agentIp: info.agentIp,
      agentVersion: info.agentVersion,
    });
    this.logger.log({ tunnelId: info.id, name: info.name, orgId: info.orgId }, 'tunnel opened');
  }

  /** Keys revoked or expired, and creators removed from the org, lose their live tunnels within seconds. */
  private async closeRevoked(): Promise<void> {
    const byKey = new Map<string, AgentConnection[]>();
    for (const c of this.registry.all()) {
      const list = byKey.get(c.info.apiKeyId) ?? [];
      list.push(c);
      byKey.set(c.info.apiKeyId, list);
    }
    if (byKey.size === 0) return;
    try {
      const live = await this.apiKeys.stillValid([...byKey.keys()]);
      for (const [keyId, conns] of byKey) {
        if (live.has(keyId)) continue;
        for (const c of conns) c.close('API key revoked or expired', 4001);
      }
    } catch (err) {
      this.logger.warn(`key check failed: ${(err as Error).message}`);
    }
  }
}
