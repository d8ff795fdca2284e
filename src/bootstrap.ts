import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';

function trustProxySetting(value: string): string | string[] | boolean {
  const parts = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0 || parts.includes('none')) return false;
  return parts;
}

/** Everything around the routes, shared by main.ts and the tests so they exercise the same stack. */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  const config = app.get(AppConfig);
  express.useLogger(app.get(Logger));
  express.set('trust proxy', trustProxySetting(config.TRUSTED_PROXIES));
  express.disable('x-powered-by');
  express.use(
    helmet({
      hsts: config.PUBLIC_URL.startsWith('https:'),
      contentSecurityPolicy: {
        directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'] },
      },
    }),
  );
  express.useGlobalPipes(createValidationPipe());
  express.enableShutdownHooks();

  const doc = new DocumentBuilder()
    .setTitle('InstaTunnel API')
    .setDescription('Self-hostable tunnel platform. Errors are RFC 9457 application/problem+json.')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'it_…' }, 'api-key')
    .addCookieAuth('it_session', { type: 'apiKey', in: 'cookie', name: 'it_session' }, 'session')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'docs/openapi.json',
  });
}
