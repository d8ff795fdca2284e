import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { compilePolicy, type CompiledPolicy } from '@instatunnel/policy-engine';
import { AppError } from '../common/app-error';

const MAX_DEPTH = 32;

function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > max) max = d;
    if (d > MAX_DEPTH) return d;
    if (v && typeof v === 'object')
      for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/**
 * The request body as an object: JSON arrives parsed, YAML (application/yaml) as text. YAML is
 * parsed with an alias budget (no "billion laughs") and both are refused beyond 32 levels deep.
 */
export function readBody(body: unknown): unknown {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = parseYaml(body, {
        maxAliasCount: 50,
        uniqueKeys: true,
        prettyErrors: false,
        schema: 'core',
      });
    } catch (err) {
      throw new AppError('invalid-policy', 'The YAML could not be parsed', {
        errors: [{ field: '$', messages: [(err as Error).message.split('\n')[0].slice(0, 200)] }],
      });
    }
  }
  if (depthOf(value) > MAX_DEPTH) {
    throw new AppError('invalid-policy', `The document is nested deeper than ${MAX_DEPTH} levels`, {
      errors: [{ field: '$', messages: [`nested deeper than ${MAX_DEPTH} levels`] }],
    });
  }
  return value;
}

/** Validates the envelope with the DTO's rules (same answers as the global ValidationPipe). */
export async function envelope<T extends object>(cls: new () => T, value: unknown): Promise<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('validation-error', 'The body must be an object', {
      errors: [{ field: '$', messages: ['must be an object'] }],
    });
  }
  const dto = plainToInstance(cls, value);
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    throw new AppError('validation-error', 'One or more fields are invalid', {
      errors: errors.map((e) => ({
        field: e.property,
        messages: Object.entries(e.constraints ?? {}).map(([k, m]) =>
          k === 'whitelistValidation' ? `${e.property} is not an allowed field` : m,
        ),
      })),
    });
  }
  return dto;
}

export function compileOrThrow(document: unknown): CompiledPolicy {
  const result = compilePolicy(document);
  if (!result.policy) {
    throw new AppError(
      'invalid-policy',
      `${result.errors.length} problem(s) in the policy document`,
      {
        errors: result.errors.map((e) => ({ field: e.path, messages: [e.message] })),
      },
    );
  }
  return result.policy;
}

/** Rule-level diff for the audit event: which rules were added, removed or changed, by name. */
export function ruleDiff(
  before: unknown,
  after: unknown,
): { added: string[]; removed: string[]; changed: string[] } {
  const index = (doc: unknown) => {
    const rules = (doc as { rules?: { name?: unknown }[] })?.rules ?? [];
    return new Map(rules.map((r) => [String(r?.name), JSON.stringify(r)]));
  };
  const a = index(before);
  const b = index(after);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)),
    removed: [...a.keys()].filter((k) => !b.has(k)),
    changed: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)),
  };
}
