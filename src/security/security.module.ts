import { Global, Module } from '@nestjs/common';
import { PolicyRateLimiter } from './policy-rate-limiter';
import { RateLimiter } from './rate-limiter.service';
import { SsoStats } from './sso-stats';

@Global()
@Module({
  providers: [RateLimiter, PolicyRateLimiter, SsoStats],
  exports: [RateLimiter, PolicyRateLimiter, SsoStats],
})
export class SecurityModule {}
