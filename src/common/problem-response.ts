import type { Response } from 'express';
import type { ProblemDocument } from './problem';

export function sendProblem(
  res: Response,
  doc: ProblemDocument,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(doc.status).type('application/problem+json').send(JSON.stringify(doc));
}
