import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from './logging.module';

describe('log redaction', () => {
  it('censors credentials wherever the redact list names them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    log.info({
      req: { headers: { authorization: 'Bearer it_secret', cookie: 'it_session=abc' } },
      res: { headers: { 'set-cookie': 'it_session=abc' } },
      body: { password: 'hunter2hunter2', token: 'tok', key: 'it_x', email: 'a@b.c' },
    });
    const out = lines.join('');
    for (const secret of ['it_secret', 'it_session=abc', 'hunter2hunter2', '"tok"', 'it_x'])
      expect(out).not.toContain(secret);
    expect(out).toContain('a@b.c');
  });
});
