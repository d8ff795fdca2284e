export const MAIL_QUEUE = 'mail';

/** Every job name the mail queue carries; the worker refuses to start without a handler for each. */
export const MAIL_JOBS = ['send'] as const;
export type MailJobName = (typeof MAIL_JOBS)[number];

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** A short label for logs and metrics; never the content. */
  template: string;
}
