import type { FieldError, ProblemKind } from './problem';

/** The one error type domain code throws; the exception filter turns it into problem+json. */
export class AppError extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly detail?: string,
    readonly options: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      extra?: Record<string, unknown>;
    } = {},
  ) {
    super(detail ?? kind);
    this.name = 'AppError';
  }
}
