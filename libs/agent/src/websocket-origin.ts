import http from 'node:http';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { constants as h2 } from 'node:http2';
import { forwardableHeaders } from '@instatunnel/tunnel-protocol';
import { originHeaders, requestLog, type OriginTarget, type RequestLog } from './local-origin';

/**
 * A WebSocket from the public client arrives as an extended CONNECT stream (RFC 8441). The
 * agent opens the same upgrade against the local app (same Sec-WebSocket-Key, so the app's
 * Sec-WebSocket-Accept is valid for the client) and then pipes bytes both ways.
 */
export function handleWebSocket(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  target: OriginTarget,
  hostHeader: 'rewrite' | 'preserve',
  onDone: (log: RequestLog) => void,
): void {
  const started = process.hrtime.bigint();
  const path = String(headers[':path'] ?? '/');
  const out = originHeaders(headers, target, hostHeader);
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
  let status = 0;
  let bytesIn = 0;
  let bytesOut = 0;
  const done = (error?: string) =>
    onDone(requestLog('WS', path, started, status, bytesIn, bytesOut, error));

  const req = http.request({
    host: target.host,
    port: target.port,
    path,
    method: 'GET',
    headers: out,
  });
  req.on('upgrade', (res, socket, head) => {
    status = 101;
    if (stream.destroyed) {
      socket.destroy();
      return done();
    }
    stream.respond({ ':status': 200, ...forwardableHeaders(res.headers) });
    if (head.length) stream.write(head);
    socket.on('data', (c: Buffer) => (bytesOut += c.length));
    stream.on('data', (c: Buffer) => (bytesIn += c.length));
    socket.pipe(stream);
    stream.pipe(socket);
    const close = () => {
      socket.destroy();
      if (!stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
    };
    socket.on('close', close);
    socket.on('error', close);
    stream.on('close', () => {
      socket.destroy();
      done();
    });
    stream.on('error', close);
  });
  req.on('response', (res) => {
    status = res.statusCode ?? 502;
    stream.respond({ ':status': status, ...forwardableHeaders(res.headers) });
    res.pipe(stream);
    stream.on('close', () => done());
  });
  req.on('error', (err: NodeJS.ErrnoException) => {
    status = 502;
    if (!stream.destroyed && !stream.headersSent) {
      stream.respond({ ':status': 502, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(
        `Local app unreachable (${err.code ?? err.message} at ${target.host}:${target.port})\n`,
      );
    } else if (!stream.destroyed) {
      stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    }
    done(err.message);
  });
  stream.on('error', () => req.destroy());
  req.end();
}
