import { Harness, PASSWORD, uniqueEmail } from '../helpers/harness';
import { freePort } from '../helpers/processes';
import { SmtpSink } from '../helpers/smtp-sink';

describe('mail queue', () => {
  it('keeps the job when the SMTP server is down and delivers it, with backoff, once it is back', async () => {
    const port = await freePort();
    const h = await Harness.start({ smtpPort: port });
    let sink: SmtpSink | undefined;
    try {
      const email = uniqueEmail('retry');
      await h.agent().post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
      // Let the first attempt fail against the closed port.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await h.db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(1);
      sink = await new SmtpSink().start(port);
      const mail = await sink.waitFor(email, () => true, 45000);
      expect(mail.subject).toContain('Verify');
      expect(sink.mailsTo(email)).toHaveLength(1);
    } finally {
      await h.stop();
      await sink?.stop();
    }
  });
});
