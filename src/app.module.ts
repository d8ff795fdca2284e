import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import cookieParser from 'cookie-parser';
import { APP_FILTER } from '@nestjs/core';
import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import {
  bodyMiddleware,
  formRule,
  requestContextMiddleware,
  xmlRules,
  yamlRule,
} from './common/http-middleware';
import { ProblemFilter } from './common/problem.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { IdentityModule } from './identity/identity.module';
import { LoggingModule } from './logging.module';
import { MailModule } from './mail/mail.module';
import { OrgsModule } from './orgs/orgs.module';
import { PoliciesModule } from './policies/policies.module';
import { QueueModule } from './queue.module';
import { RedisModule } from './redis/redis.module';
import { SecurityModule } from './security/security.module';
import { SsoModule } from './sso/sso.module';
import { TunnelsModule } from './tunnels/tunnels.module';
import { WebModule } from './web/web.module';

/** Infrastructure shared by the API server and the worker. */
export const CORE_IMPORTS = [
  ConfigModule,
  LoggingModule,
  DatabaseModule,
  RedisModule,
  QueueModule,
  AuditModule,
  SecurityModule,
  MailModule,
];

/** The API server: HTTP routes only enqueue jobs; processors live in WorkerModule. */
@Module({
  imports: [
    ...CORE_IMPORTS,
    IdentityModule,
    OrgsModule,
    AdminModule,
    HealthModule,
    WebModule,
    TunnelsModule,
    PoliciesModule,
    SsoModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemFilter }],
})
export class AppModule implements NestModule {
  constructor(private readonly config: AppConfig) {}

  // Runs after the request logger (LoggingModule), so refusals here are logged with their request id.
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        requestContextMiddleware(),
        cookieParser(),
        bodyMiddleware(this.config.BODY_LIMIT, [
          formRule('/verify-email', '4kb'),
          formRule('/invitations/accept', '4kb'),
          // SAML responses with many groups are large; the ACS decodes at most MAX_SAML_MESSAGE_BYTES.
          formRule(/^\/saml\/[^/]+\/acs$/, '512kb'),
          ...xmlRules(/^\/v1\/orgs\/[^/]+\/sso\/saml\/metadata$/, '256kb'),
          yamlRule(/^\/v1\/orgs\/[^/]+\/policies(\/[^/]+)?$/, '256kb'),
        ]),
      )
      .forRoutes('*');
  }
}
