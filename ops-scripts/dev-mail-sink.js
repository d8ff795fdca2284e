#!/usr/bin/env node
// Development SMTP server for quickstart: accepts every mail and prints it (with its links).
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

const port = Number(process.env.MAIL_SINK_PORT || 1025);
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    simpleParser(stream)
      .then((mail) => {
        const to = mail.to ? [].concat(mail.to).flatMap((a) => a.value.map((v) => v.address)).join(', ') : '';
        process.stdout.write(`\n--- ${new Date().toISOString()} to ${to}\nSubject: ${mail.subject}\n\n${mail.text}\n`);
        callback();
      })
      .catch(callback);
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`dev mail sink listening on 127.0.0.1:${port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
