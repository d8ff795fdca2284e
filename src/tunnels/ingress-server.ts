import http, { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import {
  constants as h2c,
  ClientHttp2Stream,
  IncomingHttpHeaders as H2Headers,
  OutgoingHttpHeaders as H2Out,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import proxyAddr from 'proxy-addr';
import { forwardableHeaders } from '@instatunnel/tunnel-protocol';
import { AppConfig } from '../config/app-config';
import type { AgentConnection } from './agent-connection';
import { IngressProblem, PAGES, statusLine } from './error-pages';
import type { CompiledPolicy, Decision } from '@instatunnel/policy-engine';
import { MetricsService } from '../metrics/metrics.service';
import { BlockEventWriter } from '../policies/block-events';
import { PolicyEnforcer } from '../policies/policy-enforcer';
import { HOP_HEADER, signHop, verifyHop } from './node-hop';
import { TunnelRegistry } from './tunnel-registry';

type TrustFn = (addr: string, i: number) => boolean;

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return cl !== undefined ? cl !== '0' : req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole body up to `limit` bytes; null when it is larger. An oversized body of modest
 * size is drained (not kept) so the client reads a clean 413 instead of a reset connection.
 */
function readLimited(
  req: IncomingMessage,
  limit: number,
  drainCap = 16 * limit,
): Promise<Buffer | null> {
  if (Number(req.headers['content-length']) > drainCap) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
      else if (size > drainCap) {
        req.destroy();
        resolve(null);
      }
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : null));
    req.on('error', reject);
  });
}

/**
 * The public tunnel listener: a plain node http.Server, routing by Host to live agents. It has no
 * route into Nest (an unknown host gets the 404 page from here), so tunnel traffic cannot reach the
 * API or /admin by any Host or path trick. Kept free of Nest, reflection and per-request closures
 * beyond what streaming needs.
 */
@Injectable()
export class IngressServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IngressServer.name);
  private readonly server: http.Server;
  private readonly suffix: string;
  private readonly trust: TrustFn;
  private readonly timeoutMs: number;
  private readonly secret: string | undefined;
  private readonly peerAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  port = 0;

  constructor(
    private readonly registry: TunnelRegistry,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly enforcer: PolicyEnforcer,
    private readonly blocks: BlockEventWriter,
  ) {
    this.suffix = `.${config.TUNNEL_DOMAIN}`;
    const trusted = config.TRUSTED_PROXIES.split(',')
      .map((s) => s.trim())
      .filter((s) => s && s !== 'none');
    this.trust = trusted.length ? proxyAddr.compile(trusted) : () => false;
    this.timeoutMs = config.INGRESS_RESPONSE_TIMEOUT_SECONDS * 1000;
    this.secret = config.NODE_SECRET;
    this.server = http.createServer(
      { keepAlive: true, requestTimeout: 0, headersTimeout: 30_000 },
      (req, res) => this.onRequest(req, res),
    );
    this.server.keepAliveTimeout = 65_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.INGRESS_PORT, this.config.INGRESS_HOST, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    if (!this.registry.internalUrl) this.registry.internalUrl = `http://127.0.0.1:${this.port}`;
    this.logger.log(
      `ingress listening on ${this.config.INGRESS_HOST}:${this.port} for *${this.suffix}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.peerAgent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** `<name>.<TUNNEL_DOMAIN>[:port]` → name; one label only. */
  private nameOf(host: string | undefined): string | null {
    if (!host) return null;
    let h = host.toLowerCase();
    const colon = h.lastIndexOf(':');
    if (colon > 0 && h.indexOf(']') < colon) h = h.slice(0, colon);
    if (h.endsWith('.')) h = h.slice(0, -1);
    if (!h.endsWith(this.suffix)) return null;
    const name = h.slice(0, h.length - this.suffix.length);
    return name.length > 0 && name.indexOf('.') === -1 ? name : null;
  }

  private page(res: ServerResponse, req: IncomingMessage, kind: IngressProblem): void {
    const p = PAGES[kind];
    this.metrics.status(p.status);
    const html = (req.headers.accept ?? '').includes('text/html');
    const body = html ? p.html : p.json;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(p.status, {
      'content-type': html ? 'text/html; charset=utf-8' : 'application/problem+json',
      'content-length': body.length,
      'cache-control': 'no-store',
      'x-instatunnel-error': kind,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * Resolves the request to a local agent. `forwarded` is true when another node sent it with a
   * valid hop signature (then it is served here or nowhere, so it cannot loop); `remote` names a
   * tunnel that may live on another node.
   */
  private route(
    req: IncomingMessage,
    method: string,
  ): { conn?: AgentConnection; problem?: IngressProblem; remote?: string; forwarded: boolean } {
    const hop = req.headers[HOP_HEADER];
    let forwarded = false;
    if (hop !== undefined) {
      if (
        !this.secret ||
        typeof hop !== 'string' ||
        !verifyHop(this.secret, hop, method, req.headers.host ?? '', req.url ?? '/')
      ) {
        return { problem: 'bad-hop', forwarded };
      }
      forwarded = true;
    }
    const name = this.nameOf(req.headers.host);
    if (name === null)
      return { problem: req.headers.host ? 'tunnel-not-found' : 'bad-host', forwarded };
    const pool = this.registry.lookup(name);
    if (!pool) {
      return {
        problem: 'tunnel-not-found',
        remote: this.secret && !forwarded ? name : undefined,
        forwarded,
      };
    }
    const conn = pool.pick();
    if (!conn || conn.closed || conn.session.destroyed)
      return { problem: 'agent-unavailable', forwarded };
    return { conn, forwarded };
  }

  /** X-Forwarded-* as this node vouches for them (a peer node already computed them for a forwarded request). */
  private clientHeaders(
    req: IncomingMessage,
    forwarded: boolean,
    out: Record<string, string | string[] | number | undefined>,
  ): void {
    delete out[HOP_HEADER];
    if (forwarded) return;
    const peer = req.socket.remoteAddress ?? '';
    const trusted = this.trust(peer, 0);
    const priorFor = req.headers['x-forwarded-for'];
    out['x-forwarded-for'] = trusted && priorFor ? `${String(priorFor)}, ${peer}` : peer;
    const priorProto = req.headers['x-forwarded-proto'];
    out['x-forwarded-proto'] = trusted && typeof priorProto === 'string' ? priorProto : 'http';
    out['x-forwarded-host'] = req.headers.host ?? '';
  }

  private forwardedHeaders(req: IncomingMessage, method: string, forwarded: boolean): H2Out {
    const out = forwardableHeaders(req.headers) as H2Out;
    delete out.expect;
    this.clientHeaders(req, forwarded, out);
    out[':method'] = method;
    out[':path'] = req.url ?? '/';
    out[':authority'] = req.headers.host ?? '';
    out[':scheme'] = 'http';
    return out;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const { conn, problem, remote, forwarded } = this.route(req, method);
    if (!conn) {
      if (remote) return void this.forwardToPeer(req, res, remote, method);
      return this.page(res, req, problem!);
    }
    // Policies are evaluated where the agent is, so a forwarded request is counted once.
    const entry = this.enforcer.cached(conn.info.orgId);
    if (entry === undefined) {
      this.enforcer.load(conn.info.orgId).then(
        () => this.onRequest(req, res),
        () => this.page(res, req, 'policy-unavailable'),
      );
      return;
    }
    const policies = this.enforcer.policiesFor(entry, conn.info.name);
    if (policies.length === 0) return this.forward(req, res, conn, method, forwarded);
    void this.enforce(req, res, conn, method, forwarded, policies, entry.needsBody);
  }

  /** The real client: walk X-Forwarded-For from the right past trusted proxies only. */
  private clientIp(req: IncomingMessage, forwarded: boolean): string {
    const xff = req.headers['x-forwarded-for'];
    const chain =
      typeof xff === 'string'
        ? xff
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : [];
    let addr = forwarded ? (chain.pop() ?? '') : (req.socket.remoteAddress ?? '');
    for (let i = 0; chain.length > 0 && this.trust(addr, i); i++) addr = chain.pop()!;
    return addr;
  }

  private async enforce(
    req: IncomingMessage,
    res: ServerResponse,
    conn: AgentConnection,
    method: string,
    forwarded: boolean,
    policies: CompiledPolicy[],
    needsBody: boolean,
  ): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    let body: Buffer | undefined;
    if (needsBody && hasBody(req)) {
      const read = await readLimited(req, this.config.WEBHOOK_BODY_LIMIT_BYTES);
      if (read === null) return this.page(res, req, 'body-too-large');
      body = read;
    }
    const clientIp = this.clientIp(req, forwarded);
    let decision: Decision;
    try {
      decision = await this.enforcer.decide(policies, {
        method,
        path: q >= 0 ? url.slice(0, q) : url,
        query: q >= 0 ? new URLSearchParams(url.slice(q + 1)) : null,
        host,
        clientIp,
        headers: req.headersDistinct,
        tunnel: conn.info.name,
        body,
        url: `${String(req.headers['x-forwarded-proto'] ?? 'http')}://${req.headers.host ?? ''}${url}`,
      });
    } catch {
      return this.page(res, req, 'policy-unavailable');
    }
    if (decision.outcome === 'respond') {
      const status = decision.status ?? 403;
      if (decision.blockedBy) {
        this.blocks.record({
          orgId: conn.info.orgId,
          tunnel: conn.info.name,
          rule: decision.blockedBy.rule,
          action: decision.blockedBy.action,
          reason: decision.blockedBy.reason,
          clientIp,
          method,
          path: q >= 0 ? url.slice(0, q) : url,
          status,
        });
      }
      this.metrics.status(status);
      const text = Buffer.from(decision.body ?? '');
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        ...decision.headers,
        'content-length': text.length,
      });
      res.end(method === 'HEAD' ? undefined : text);
      return;
    }
    this.forward(req, res, conn, method, forwarded, decision, body);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    conn: AgentConnection,
    method: string,
    forwarded: boolean,
    edits?: Decision,
    body?: Buffer,
  ): void {
    const headers = this.forwardedHeaders(req, method, forwarded);
    if (edits) {
      for (const k of edits.requestHeaders.remove) delete headers[k];
      Object.assign(headers, edits.requestHeaders.set);
    }
    const streamed = body === undefined && hasBody(req);
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: !streamed && !body?.length });
    } catch {
      return this.page(res, req, 'agent-unavailable');
    }
    if (body?.length) {
      conn.bytesIn += body.length;
      stream.end(body);
    }
    conn.requests++;
    const started = performance.now();
    const timer = setTimeout(() => {
      this.page(res, req, 'origin-timeout');
      stream.close(h2c.NGHTTP2_CANCEL);
    }, this.timeoutMs);
    stream.on('response', (h: H2Headers) => {
      clearTimeout(timer);
      const status = Number(h[':status']);
      this.metrics.status(status);
      this.metrics.latency.observe((performance.now() - started) / 1000);
      const out = forwardableHeaders(h) as OutgoingHttpHeaders;
      if (edits) {
        for (const k of edits.responseHeaders.remove) delete out[k];
        Object.assign(out, edits.responseHeaders.set);
      }
      res.writeHead(status, out);
      // Count after piping: a 'data' listener attached earlier would start the flow too soon.
      stream.pipe(res);
      stream.on('data', (chunk: Buffer) => (conn.bytesOut += chunk.length));
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      if (!res.headersSent) this.page(res, req, 'agent-disconnected');
      else if (!res.writableEnded) res.destroy();
    });
    if (streamed) {
      req.on('data', (chunk: Buffer) => (conn.bytesIn += chunk.length));
      req.pipe(stream);
    }
    // The public client left: reset the stream so the agent stops work on it.
    res.on('close', () => {
      if (!res.writableFinished && !stream.closed) stream.close(h2c.NGHTTP2_CANCEL);
    });
  }

  /** WebSocket passthrough over an extended CONNECT stream (RFC 8441). */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const { conn, problem, remote, forwarded } = this.route(req, 'GET');
    const reject = (kind: IngressProblem) => {
      const p = PAGES[kind];
      socket.end(
        `${statusLine(p.status)}\r\nContent-Type: application/problem+json\r\nContent-Length: ${p.json.length}\r\nConnection: close\r\n\r\n${p.json.toString()}`,
      );
    };
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return reject('bad-host');
    if (!conn) {
      if (remote) return void this.upgradeViaPeer(req, socket, head, remote, reject);
      return reject(problem!);
    }
    const headers = this.forwardedHeaders(req, 'GET', forwarded);
    headers[':method'] = 'CONNECT';
    headers[':protocol'] = 'websocket';
    let stream: ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: false });
    } catch {
      return reject('agent-unavailable');
    }
    conn.requests++;
    stream.on('error', () => socket.destroy());
    stream.on('close', () => socket.destroy());
    socket.on('close', () => {
      if (!stream.closed) stream.close(h2c.NGHTTP2_CANCEL);
    });
    stream.on('response', (h: H2Headers) => {
      const status = Number(h[':status']);
      const rest = forwardableHeaders(h);
      if (status === 200) {
        let head101 =
          'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n';
        for (const k in rest) head101 += `${k}: ${String(rest[k])}\r\n`;
        socket.write(`${head101}\r\n`);
        if (head.length) stream.write(head);
        stream.on('data', (c: Buffer) => (conn.bytesOut += c.length));
        socket.on('data', (c: Buffer) => (conn.bytesIn += c.length));
        stream.pipe(socket);
        socket.pipe(stream);
        return;
      }
      let line = `${statusLine(status)}\r\nConnection: close\r\n`;
      for (const k in rest) line += `${k}: ${String(rest[k])}\r\n`;
      socket.write(`${line}\r\n`);
      stream.pipe(socket);
    });
  }

  private peerHeaders(
    req: IncomingMessage,
    method: string,
  ): Record<string, string | string[] | number | undefined> {
    const out: Record<string, string | string[] | number | undefined> = forwardableHeaders(
      req.headers,
    );
    delete out.expect;
    this.clientHeaders(req, false, out);
    const host = req.headers.host ?? '';
    out.host = host;
    if (req.headers['content-length'] !== undefined)
      out['content-length'] = req.headers['content-length'];
    else if (req.headers['transfer-encoding'] !== undefined) out['transfer-encoding'] = 'chunked';
    out[HOP_HEADER] = signHop(this.secret!, method, host, req.url ?? '/');
    return out;
  }

  /** Multi-node: the agent is on another node; hand the request to that node's ingress, signed. */
  private async forwardToPeer(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    method: string,
  ): Promise<void> {
    let peers: string[];
    try {
      peers = await this.registry.remoteNodes(name);
    } catch {
      return this.page(res, req, 'agent-unavailable');
    }
    if (peers.length === 0) return this.page(res, req, 'tunnel-not-found');
    const target = new URL(peers[(Math.random() * peers.length) | 0]);
    this.metrics.forwarded.inc();
    const preq = http.request({
      host: target.hostname,
      port: target.port,
      method,
      path: req.url,
      headers: this.peerHeaders(req, method),
      agent: this.peerAgent,
    });
    preq.on('response', (pres) => {
      res.writeHead(
        pres.statusCode ?? 502,
        forwardableHeaders(pres.headers) as OutgoingHttpHeaders,
      );
      pres.pipe(res);
    });
    preq.on('error', () => this.page(res, req, 'agent-unavailable'));
    res.on('close', () => {
      if (!res.writableFinished) preq.destroy();
    });
    req.pipe(preq);
  }

  private async upgradeViaPeer(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    name: string,
    reject: (k: IngressProblem) => void,
  ): Promise<void> {
    let peers: string[];
    try {
      peers = await this.registry.remoteNodes(name);
    } catch {
      return reject('agent-unavailable');
    }
    if (peers.length === 0) return reject('tunnel-not-found');
    const target = new URL(peers[(Math.random() * peers.length) | 0]);
    this.metrics.forwarded.inc();
    const headers = this.peerHeaders(req, 'GET');
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
    const preq = http.request({
      host: target.hostname,
      port: target.port,
      method: 'GET',
      path: req.url,
      headers,
      agent: false,
    });
    preq.on('upgrade', (pres, psocket, phead) => {
      let line =
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n';
      const rest = forwardableHeaders(pres.headers);
      for (const k in rest) line += `${k}: ${String(rest[k])}\r\n`;
      socket.write(`${line}\r\n`);
      if (phead.length) socket.write(phead);
      if (head.length) psocket.write(head);
      psocket.on('error', () => socket.destroy());
      psocket.on('close', () => socket.destroy());
      socket.on('close', () => psocket.destroy());
      psocket.pipe(socket);
      socket.pipe(psocket);
    });
    preq.on('response', (pres) => {
      let line = `${statusLine(pres.statusCode ?? 502)}\r\nConnection: close\r\n`;
      const rest = forwardableHeaders(pres.headers);
      for (const k in rest) line += `${k}: ${String(rest[k])}\r\n`;
      socket.write(`${line}\r\n`);
      pres.pipe(socket);
    });
    preq.on('error', () => reject('agent-unavailable'));
    socket.on('close', () => preq.destroy());
    preq.end();
  }
}
