import http2, { ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { H2_SESSION_WINDOW, H2_SETTINGS, tunnelStream } from '@instatunnel/tunnel-protocol';

export interface ConnectionInfo {
  id: string;
  name: string;
  orgId: string;
  apiKeyId: string;
  userId: string;
  agentIp: string | null;
  agentVersion: string | null;
  ephemeral: boolean;
  since: Date;
}

/**
 * One agent link: the WebSocket, and the HTTP/2 client session that runs over it (the server is
 * the h2 client, the agent the h2 server). Counters are plain fields: no allocation per request.
 */
export class AgentConnection {
  readonly session: ClientHttp2Session;
  private readonly duplex: Duplex;
  requests = 0;
  bytesIn = 0;
  bytesOut = 0;
  closed = false;
  private lastPong = Date.now();
  private readonly closeListeners: ((reason: string) => void)[] = [];

  constructor(
    readonly info: ConnectionInfo,
    private readonly ws: WebSocket,
  ) {
    this.duplex = tunnelStream(ws);
    this.duplex.on('error', () => undefined);
    this.session = http2.connect('http://agent.invalid', {
      createConnection: () => this.duplex,
      settings: H2_SETTINGS,
      maxSessionMemory: 64,
      peerMaxConcurrentStreams: H2_SETTINGS.maxConcurrentStreams,
    });
    this.session.on('connect', () => this.session.setLocalWindowSize(H2_SESSION_WINDOW));
    this.session.on('error', () => undefined);
    this.session.on('close', () => this.close('agent session ended'));
    ws.on('pong', () => (this.lastPong = Date.now()));
    ws.on('close', () => this.close('agent disconnected'));
    ws.on('error', () => undefined);
  }

  /** Resolves once the agent's SETTINGS arrived (extended CONNECT needs them), or false if it never does. */
  ready(timeoutMs = 10_000): Promise<boolean> {
    if (
      this.session.remoteSettings?.enableConnectProtocol !== undefined &&
      this.session.connecting === false
    ) {
      return Promise.resolve(!this.closed);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.session.once('remoteSettings', () => {
        clearTimeout(timer);
        resolve(!this.closed);
      });
      this.onClose(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Ping; a link that has not answered for `deadAfterMs` is cut (its streams then end with 502). */
  heartbeat(deadAfterMs: number): void {
    if (this.closed) return;
    if (Date.now() - this.lastPong > deadAfterMs) {
      this.ws.terminate();
      this.close('agent stopped answering pings');
      return;
    }
    this.ws.ping();
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closed) listener('closed');
    else this.closeListeners.push(listener);
  }

  close(reason: string, code = 1000): void {
    if (this.closed) return;
    this.closed = true;
    this.session.destroy();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason.slice(0, 120));
    setTimeout(() => this.ws.terminate(), 2000).unref();
    for (const l of this.closeListeners.splice(0)) l(reason);
  }
}
