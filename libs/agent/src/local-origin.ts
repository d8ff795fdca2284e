import http from 'node:http';
import type { ServerHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { constants as h2 } from 'node:http2';
import { forwardableHeaders } from '@instatunnel/tunnel-protocol';

export interface OriginTarget {
  host: string;
  port: number;
}

export interface RequestLog {
  time: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  error?: string;
}

/** Headers for the local request: hop-by-hop dropped, Host rewritten to the local app unless preserved. */
export function originHeaders(
  headers: IncomingHttpHeaders,
  target: OriginTarget,
  hostHeader: 'rewrite' | 'preserve',
): Record<string, string | string[]> {
  const out = forwardableHeaders(headers);
  delete out.expect;
  out.host =
    hostHeader === 'preserve' && headers[':authority']
      ? String(headers[':authority'])
      : `${target.host}:${target.port}`;
  return out;
}

export function requestLog(
  method: string,
  path: string,
  started: bigint,
  status: number,
  bytesIn: number,
  bytesOut: number,
  error?: string,
): RequestLog {
  return {
    time: new Date().toISOString(),
    method,
    path,
    status,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    bytesIn,
    bytesOut,
    error,
  };
}

const ERROR_HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening on the local port',
  ECONNRESET: 'the local app closed the connection',
  ETIMEDOUT: 'the local app did not answer in time',
  ENOTFOUND: 'the local host name does not resolve',
  EHOSTUNREACH: 'the local host is unreachable',
};

function errorPage(
  status: number,
  title: string,
  detail: string,
  accept: string | undefined,
): { type: string; body: string } {
  if (accept?.includes('text/html')) {
    const esc = (s: string) =>
      s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
    return {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html><head><meta charset="utf-8"><title>${status} ${esc(title)}</title></head><body style="font:16px system-ui;max-width:40rem;margin:4rem auto"><h1>${status} ${esc(title)}</h1><p>${esc(detail)}</p><p><small>InstaTunnel agent</small></p></body></html>`,
    };
  }
  return {
    type: 'application/problem+json',
    body: JSON.stringify({
      type: `https://instatunnel.dev/problems/${status === 504 ? 'origin-timeout' : 'origin-unreachable'}`,
      title,
      status,
      detail,
    }),
  };
}

/**
 * Serves one tunnelled request: streams the HTTP/2 request to the local app over a keep-alive
 * HTTP/1.1 connection and streams the answer back. Errors become a 502/504 page; the tunnel stays up.
 */
export class LocalOrigin {
  private readonly agent = new http.Agent({
    keepAlive: true,
    maxSockets: 512,
    keepAliveMsecs: 10_000,
  });

  constructor(
    private readonly target: OriginTarget,
    private readonly options: { hostHeader: 'rewrite' | 'preserve'; timeoutMs: number },
    private readonly onDone: (log: RequestLog) => void,
  ) {}

  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const started = process.hrtime.bigint();
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const out = originHeaders(headers, this.target, this.options.hostHeader);
    let bytesIn = 0;
    let bytesOut = 0;
    let status = 0;
    let error: string | undefined;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.onDone(requestLog(method, path, started, status, bytesIn, bytesOut, error));
    };

    const req = http.request({
      host: this.target.host,
      port: this.target.port,
      method,
      path,
      headers: out,
      agent: this.agent,
    });
    const fail = (code: number, title: string, detail: string) => {
      status = code;
      error = detail;
      if (stream.destroyed || stream.closed) return finish();
      if (stream.headersSent) {
        stream.close(h2.NGHTTP2_INTERNAL_ERROR);
        return finish();
      }
      const page = errorPage(code, title, detail, headers.accept as string | undefined);
      stream.respond({
        ':status': code,
        'content-type': page.type,
        'cache-control': 'no-store',
        'x-instatunnel-error': 'origin',
      });
      stream.end(page.body);
      finish();
    };
    req.setTimeout(this.options.timeoutMs, () => {
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EUNKNOWN';
      const timeout = code === 'ETIMEDOUT';
      fail(
        timeout ? 504 : 502,
        timeout ? 'Local app timed out' : 'Local app unreachable',
        `${ERROR_HINTS[code] ?? err.message} (${code} at ${this.target.host}:${this.target.port})`,
      );
    });
    req.on('response', (res) => {
      status = res.statusCode ?? 502;
      if (stream.destroyed || stream.closed) {
        res.destroy();
        return finish();
      }
      try {
        stream.respond({ ':status': status, ...forwardableHeaders(res.headers) });
      } catch (err) {
        res.destroy();
        return fail(502, 'Invalid response from the local app', (err as Error).message);
      }
      res.on('data', (chunk: Buffer) => (bytesOut += chunk.length));
      res.pipe(stream);
      res.on('error', () => stream.close(h2.NGHTTP2_INTERNAL_ERROR));
      stream.on('close', finish);
    });
    stream.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
    stream.pipe(req);
    // The public client went away (or the server reset the stream): stop talking to the origin too.
    stream.on('close', () => {
      if (!req.writableFinished || status === 0) req.destroy();
      finish();
    });
    stream.on('error', () => undefined);
  }

  close(): void {
    this.agent.destroy();
  }
}
