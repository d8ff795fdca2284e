import { Module } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { requestId } from './common/http-middleware';
import { AppConfig } from './config/app-config';

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.passwordHash',
  '*.token',
  '*.key',
  '*.secret',
  '*.apiKey',
  // Query parameters of a failed SQL statement can hold emails and other user data.
  '*.parameters',
];

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.LOG_LEVEL,
          redact: { paths: REDACT_PATHS, censor: '[redacted]' },
          genReqId: requestId,
          customProps: (req: IncomingMessage) => ({ requestId: req.id }),
          // One line per request at info; the health probes only at debug.
          autoLogging: {
            ignore: (req: IncomingMessage) => req.url === '/healthz' || req.url === '/readyz',
          },
          serializers: {
            req: (req: {
              method: string;
              url: string;
              remoteAddress?: string;
              headers: Record<string, unknown>;
            }) => ({
              method: req.method,
              url: req.url?.split('?')[0],
              ip: req.remoteAddress,
              userAgent: req.headers?.['user-agent'],
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
          customLogLevel: (_req: IncomingMessage, res: { statusCode: number }, err?: Error) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
        },
      }),
    }),
  ],
})
export class LoggingModule {}
