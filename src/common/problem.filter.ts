import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError } from './app-error';
import { buildProblem, PROBLEMS, ProblemKind } from './problem';
import { sendProblem } from './problem-response';

const STATUS_KIND: Record<number, ProblemKind> = {
  400: 'validation-error',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'too-many-requests',
  503: 'service-unavailable',
};

/** Dependency failures (Postgres or Redis unreachable) answer 503, not 500. */
export function isDependencyDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03'].includes(code)
  ) {
    return true;
  }
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Connection terminated/.test(
      err.message,
    )
  );
}

export function toProblem(err: unknown): {
  kind: ProblemKind;
  detail?: string;
  errors?: AppError['options']['errors'];
  headers?: Record<string, string>;
  extra?: Record<string, unknown>;
} {
  if (err instanceof AppError) {
    return { kind: err.kind, detail: err.detail, ...err.options };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const kind = STATUS_KIND[status] ?? (status >= 500 ? 'internal-error' : 'forbidden');
    const detail = status === 404 ? 'No route matches this method and path' : undefined;
    return { kind, detail };
  }
  if (isDependencyDown(err)) {
    return {
      kind: 'service-unavailable',
      detail: 'A backing service did not answer; retry shortly',
    };
  }
  return { kind: 'internal-error' };
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const p = toProblem(exception);
    if (PROBLEMS[p.kind].status >= 500) {
      this.logger.error(
        { err: exception, requestId: String(req.id), path: req.originalUrl },
        'request failed',
      );
    }
    const extra: Record<string, unknown> = { ...(p.extra ?? {}) };
    if (p.errors) extra.errors = p.errors;
    const doc = buildProblem(
      p.kind,
      p.detail,
      req.originalUrl?.split('?')[0],
      req.id === undefined ? undefined : String(req.id),
      extra,
    );
    sendProblem(res, doc, p.headers);
  }
}
