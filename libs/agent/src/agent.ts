import http2, { Http2Server, ServerHttp2Session } from 'node:http2';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  AGENT_VERSION_HEADER,
  CONNECT_PATH,
  H2_SESSION_WINDOW,
  H2_SETTINGS,
  NAME_HEADER,
  TUNNEL_ID_HEADER,
  tunnelStream,
  URL_HEADER,
} from '@instatunnel/tunnel-protocol';
import { LocalOrigin, OriginTarget, RequestLog } from './local-origin';
import { handleWebSocket } from './websocket-origin';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
  server: string;
  apiKey: string;
  target: OriginTarget;
  name?: string;
  hostHeader: 'rewrite' | 'preserve';
  originTimeoutMs: number;
  /** Longest wait between reconnect attempts. */
  maxBackoffMs?: number;
}

export interface Refusal {
  status: number;
  title: string;
  detail?: string;
  type?: string;
  /** true when retrying cannot help (bad key, missing scope, name owned by another org). */
  permanent: boolean;
}

/**
 * The agent's connection loop: dial the server, serve HTTP/2 over the WebSocket, and come back
 * with capped, jittered exponential backoff whenever the link drops, asking for the same name.
 *
 * Events: 'online' ({url, name, tunnelId}), 'offline' ({reason, retryInMs}), 'refused' (Refusal),
 * 'request' (RequestLog), 'closed'.
 */
export class TunnelAgent extends EventEmitter {
  private ws?: WebSocket;
  private h2server: Http2Server;
  private session?: ServerHttp2Session;
  private readonly origin: LocalOrigin;
  private attempt = 0;
  private stopping = false;
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  name?: string;

  constructor(private readonly options: AgentOptions) {
    super();
    this.name = options.name;
    const log = (entry: RequestLog) => this.emit('request', entry);
    this.origin = new LocalOrigin(
      options.target,
      { hostHeader: options.hostHeader, timeoutMs: options.originTimeoutMs },
      log,
    );
    this.h2server = http2.createServer({
      settings: { ...H2_SETTINGS, enableConnectProtocol: true },
      maxSessionMemory: 64,
    });
    this.h2server.on('session', (session: ServerHttp2Session) => {
      this.session = session;
      session.on('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
      session.on('error', () => undefined);
    });
    this.h2server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      if (headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket') {
        handleWebSocket(stream, headers, options.target, options.hostHeader, log);
      } else {
        this.origin.handle(stream, headers);
      }
    });
  }

  start(): void {
    this.connect();
  }

  private wsUrl(): string {
    const url = new URL(CONNECT_PATH, this.options.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  private connect(): void {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      [AGENT_VERSION_HEADER]: AGENT_VERSION,
    };
    if (this.name) headers[NAME_HEADER] = this.name;
    const ws = new WebSocket(this.wsUrl(), {
      headers,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
      handshakeTimeout: 15_000,
    });
    this.ws = ws;
    let upgradeInfo: { url: string; name: string; tunnelId: string } | undefined;

    ws.on('upgrade', (res) => {
      const url = String(res.headers[URL_HEADER] ?? '');
      const name = String(res.headers[NAME_HEADER] ?? '');
      upgradeInfo = { url, name, tunnelId: String(res.headers[TUNNEL_ID_HEADER] ?? '') };
    });
    let refused = false;
    ws.on('unexpected-response', (req, res) => {
      refused = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 16384) body += c;
      });
      const settle = () => {
        const status = res.statusCode ?? 0;
        let parsed: { title?: string; detail?: string; type?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          parsed = { title: body.trim().slice(0, 200) || res.statusMessage };
        }
        const refusal: Refusal = {
          status,
          title: parsed.title ?? `HTTP ${status}`,
          detail: parsed.detail,
          type: parsed.type,
          permanent:
            status === 400 || status === 401 || status === 403 || status === 404 || status === 409,
        };
        req.destroy();
        this.emit('refused', refusal);
        if (refusal.permanent) void this.stop();
        else this.scheduleReconnect(`refused: ${status} ${refusal.title}`);
      };
      res.once('end', settle);
      res.once('error', settle);
    });
    ws.on('open', () => {
      this.attempt = 0;
      if (upgradeInfo?.name) this.name = upgradeInfo.name;
      const duplex = tunnelStream(ws);
      duplex.on('error', () => undefined);
      this.h2server.emit('connection', duplex);
      this.armWatchdog();
      ws.on('ping', () => this.armWatchdog());
      this.emit('online', upgradeInfo);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(this.watchdog);
      this.session?.destroy();
      this.session = undefined;
      if (this.ws === ws && !this.stopping && !refused)
        this.scheduleReconnect(reason.toString() || `connection closed (${code})`);
    });
    ws.on('error', (err) => {
      if (!this.stopping && !refused && ws.readyState !== WebSocket.OPEN)
        this.emit('error-detail', err.message);
    });
  }

  /** The server pings every few seconds; silence means a dead link even if TCP has not noticed. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws?.terminate(), 35_000);
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopping || this.retryTimer) return;
    const cap = this.options.maxBackoffMs ?? 30_000;
    const base = Math.min(cap, 500 * 2 ** this.attempt);
    const retryInMs = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt++;
    this.emit('offline', { reason, retryInMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, retryInMs);
  }

  /** Graceful stop: in-flight requests may finish (up to `graceMs`), then the link closes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.watchdog);
    const session = this.session;
    if (session && !session.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        session.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.ws?.close(1000, 'agent stopped');
    this.ws?.terminate();
    this.origin.close();
    this.emit('closed');
  }
}
