import { Module } from '@nestjs/common';
import { CORE_IMPORTS } from './app.module';
import { MailProcessor } from './mail/mail.processor';

/** The worker: BullMQ processors, no HTTP. */
@Module({ imports: [...CORE_IMPORTS], providers: [MailProcessor] })
export class WorkerModule {}
