import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from './app-error';
import type { FieldError } from './problem';

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const messages = Object.entries(e.constraints).map(([key, msg]) =>
        key === 'whitelistValidation' ? `${field} is not an allowed field` : msg,
      );
      out.push({ field, messages });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Whitelisting + forbidding unknown fields stops mass assignment (GHSA-j542-4rch-8hwf). */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    stopAtFirstError: false,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new AppError('validation-error', 'One or more fields are invalid', {
        errors: flatten(errors),
      }),
  });
}
