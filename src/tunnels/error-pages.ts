import { STATUS_CODES } from 'node:http';

export type IngressProblem =
  | 'tunnel-not-found'
  | 'agent-unavailable'
  | 'agent-disconnected'
  | 'origin-timeout'
  | 'bad-host'
  | 'bad-hop'
  | 'policy-unavailable'
  | 'body-too-large';

const TEXT: Record<IngressProblem, { status: number; title: string; detail: string }> = {
  'tunnel-not-found': {
    status: 404,
    title: 'Tunnel not found',
    detail: 'No tunnel is online at this address.',
  },
  'agent-unavailable': {
    status: 502,
    title: 'Agent unavailable',
    detail: 'The tunnel exists but its agent is not connected right now. Retry in a moment.',
  },
  'agent-disconnected': {
    status: 502,
    title: 'Agent disconnected',
    detail: 'The agent serving this tunnel went away while handling the request.',
  },
  'origin-timeout': {
    status: 504,
    title: 'Tunnel timed out',
    detail: 'The agent did not send a response in time.',
  },
  'bad-host': { status: 400, title: 'Bad host', detail: 'The request has no usable Host header.' },
  'policy-unavailable': {
    status: 503,
    title: 'Policy unavailable',
    detail:
      "The tunnel's traffic policy could not be loaded; nothing is forwarded without it. Retry shortly.",
  },
  'body-too-large': {
    status: 413,
    title: 'Body too large',
    detail: 'A webhook rule needs the whole body, and this one exceeds its limit.',
  },
  'bad-hop': {
    status: 403,
    title: 'Forwarding refused',
    detail: 'The node-to-node signature on this request is missing, stale or wrong.',
  },
};

export interface RenderedPage {
  status: number;
  html: Buffer;
  json: Buffer;
}

function render(kind: IngressProblem): RenderedPage {
  const t = TEXT[kind];
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${t.status} ${t.title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d232a}</style></head><body><h1>${t.status} ${t.title}</h1><p>${t.detail}</p><p><small>InstaTunnel</small></p></body></html>`;
  const json = JSON.stringify({
    type: `https://instatunnel.dev/problems/${kind}`,
    title: t.title,
    status: t.status,
    detail: t.detail,
  });
  return { status: t.status, html: Buffer.from(html), json: Buffer.from(json) };
}

/** Rendered once at start-up: the ingress never builds an error page per request. */
export const PAGES: Record<IngressProblem, RenderedPage> = Object.fromEntries(
  (Object.keys(TEXT) as IngressProblem[]).map((k) => [k, render(k)]),
) as Record<IngressProblem, RenderedPage>;

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`;
}
