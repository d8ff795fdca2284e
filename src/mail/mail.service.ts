import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppError } from '../common/app-error';
import { MAIL_QUEUE, MailJobName, MailMessage } from './mail.constants';

const ENQUEUE_TIMEOUT_MS = 5000;

/** Producer side: the API enqueues, the worker sends. */
@Injectable()
export class MailService {
  constructor(
    @InjectQueue(MAIL_QUEUE) private readonly queue: Queue<MailMessage, void, MailJobName>,
  ) {}

  async enqueue(message: MailMessage): Promise<void> {
    // BullMQ waits for Redis forever; a request must not, so give up after a few seconds.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AppError('service-unavailable', 'The mail queue did not answer; retry shortly'),
          ),
        ENQUEUE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.add(message), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async add(message: MailMessage): Promise<void> {
    await this.queue.add('send', message, {
      attempts: 8,
      backoff: { type: 'exponential', delay: 5000 },
      // The job holds a one-time token: keep it no longer than needed.
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
    });
  }
}
