import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { buildProblem, ProblemKind } from './problem';
import { sendProblem } from './problem-response';
import { requestContext } from './request-context';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a well-formed X-Request-Id or makes one, and echoes it (pino-http's genReqId). */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Opens the request context (request id, client ip, user agent) that audit and logs read. */
export function requestContextMiddleware(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const ua = req.headers['user-agent'];
    requestContext.run(
      {
        requestId: String(req.id),
        ip: req.ip ?? null,
        userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
      },
      next,
    );
  };
}

function problem(req: Request, res: Response, kind: ProblemKind, detail: string) {
  sendProblem(res, buildProblem(kind, detail, req.originalUrl.split('?')[0], String(req.id)));
}

function hasBody(req: Request): boolean {
  const len = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return len !== undefined && len !== '0';
}

export interface BodyRule {
  /** Path this rule covers: exact, or a pattern. */
  path: string | RegExp;
  /** Accepted media type (without parameters) besides JSON, and its parser. */
  type: string;
  parser: RequestHandler;
}

/** YAML documents (policies), kept as text for the service to parse with its own limits. */
export function yamlRule(path: RegExp, limit: string): BodyRule {
  return { path, type: 'application/yaml', parser: express.text({ type: () => true, limit }) };
}

/** XML documents (SAML metadata), kept as text for the service to parse with its own checks. */
export function xmlRules(path: RegExp, limit: string): BodyRule[] {
  const parser = express.text({ type: () => true, limit });
  return ['application/samlmetadata+xml', 'application/xml', 'text/xml'].map((type) => ({
    path,
    type,
    parser,
  }));
}

/** Browser form posts: the few HTML pages that a mail link opens, and the SAML ACS. */
export function formRule(path: string | RegExp, limit: string): BodyRule {
  return {
    path,
    type: 'application/x-www-form-urlencoded',
    parser: express.urlencoded({ extended: false, limit, parameterLimit: 20 }),
  };
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json$/;

/**
 * Content-type gate plus JSON parsing with a size limit. Requiring JSON on every body also
 * defeats cross-site form posts against the cookie session (they cannot send application/json
 * without a CORS preflight).
 */
export function bodyMiddleware(limit: string, extraRules: BodyRule[] = []): RequestHandler {
  const json = express.json({ limit, strict: true, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!hasBody(req)) return next();
    const [rawType, ...params] = (req.headers['content-type'] ?? '').split(';');
    const mediaType = rawType.trim().toLowerCase();
    const isJson = JSON_TYPE.test(mediaType);
    const charset = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('charset='));
    if (isJson && charset && !['charset=utf-8', 'charset="utf-8"'].includes(charset)) {
      return problem(req, res, 'unsupported-media-type', 'Only UTF-8 JSON bodies are accepted');
    }
    if (!isJson) {
      const path = req.originalUrl.split('?')[0];
      const rule = extraRules.find(
        (r) =>
          r.type === mediaType &&
          (typeof r.path === 'string' ? r.path === path : r.path.test(path)),
      );
      if (rule) return parseWith(rule.parser, req, res, next, limit);
      return problem(
        req,
        res,
        'unsupported-media-type',
        `Send the body as application/json${mediaType ? `, not ${mediaType}` : ''}`,
      );
    }
    parseWith(json, req, res, next, limit);
  };
}

function parseWith(
  parser: RequestHandler,
  req: Request,
  res: Response,
  next: NextFunction,
  limit: string,
) {
  void parser(req, res, (err?: unknown) => {
    if (!err) return next();
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') {
      return problem(req, res, 'payload-too-large', `The body exceeds the ${limit} limit`);
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return problem(req, res, 'unsupported-media-type', 'Only UTF-8 bodies are accepted');
    }
    return problem(req, res, 'malformed-body', 'The body could not be parsed');
  });
}
