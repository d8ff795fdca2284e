import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';
import nodemailer, { Transporter } from 'nodemailer';
import { AppConfig } from '../config/app-config';
import { MAIL_JOBS, MAIL_QUEUE, MailJobName, MailMessage } from './mail.constants';

@Processor(MAIL_QUEUE, { concurrency: 4 })
export class MailProcessor extends WorkerHost implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(MailProcessor.name);
  private transport!: Transporter;
  private readonly handlers: Record<MailJobName, (job: Job<MailMessage>) => Promise<void>> = {
    send: (job) => this.send(job),
  };

  constructor(private readonly config: AppConfig) {
    super();
  }

  onModuleInit(): void {
    for (const name of MAIL_JOBS) {
      if (!this.handlers[name]) throw new Error(`mail queue: no handler for job "${name}"`);
    }
    this.transport = nodemailer.createTransport(this.config.SMTP_URL);
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }

  async process(job: Job<MailMessage, void, string>): Promise<void> {
    const handler = this.handlers[job.name as MailJobName];
    if (!handler) throw new Error(`mail queue: unknown job "${job.name}"`);
    await handler(job);
  }

  private async send(job: Job<MailMessage>): Promise<void> {
    const { to, subject, text, html, template } = job.data;
    const info = await this.transport.sendMail({
      from: this.config.MAIL_FROM,
      to,
      subject,
      text,
      html,
    });
    this.logger.log(
      { jobId: job.id, template, attempt: job.attemptsMade + 1, messageId: info.messageId },
      'mail sent',
    );
  }
}
