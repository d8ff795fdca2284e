import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { AppError } from './app-error';
import { isDependencyDown, toProblem } from './problem.filter';
import { buildProblem, PROBLEMS } from './problem';

describe('problem mapping', () => {
  it('keeps a domain error as it is', () => {
    expect(
      toProblem(new AppError('last-owner', 'why', { headers: { 'Retry-After': '1' } })),
    ).toMatchObject({
      kind: 'last-owner',
      detail: 'why',
      headers: { 'Retry-After': '1' },
    });
  });

  it('maps framework exceptions by status', () => {
    expect(toProblem(new NotFoundException()).kind).toBe('not-found');
    expect(toProblem(new PayloadTooLargeException()).kind).toBe('payload-too-large');
  });

  it('answers 503 for a dependency outage and 500 for anything else, with no message leaked', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    expect(isDependencyDown(refused)).toBe(true);
    expect(toProblem(refused).kind).toBe('service-unavailable');
    const bug = toProblem(new TypeError('cannot read x of undefined'));
    expect(bug).toEqual({ kind: 'internal-error' });
  });

  it('builds RFC 9457 documents with a stable type per kind', () => {
    for (const kind of Object.keys(PROBLEMS) as (keyof typeof PROBLEMS)[]) {
      const doc = buildProblem(kind, undefined, '/x', 'req-1');
      expect(doc).toEqual({
        type: `https://instatunnel.dev/problems/${kind}`,
        title: PROBLEMS[kind].title,
        status: PROBLEMS[kind].status,
        instance: '/x',
        requestId: 'req-1',
      });
    }
  });
});
