import { Global, Module } from '@nestjs/common';
import { PolicyRateLimiter } from './policy-rate-limiter';
import { RateLimiter } from './rate-limiter.service';

@Global()
@Module({ providers: [RateLimiter, PolicyRateLimiter], exports: [RateLimiter, PolicyRateLimiter] })
export class SecurityModule {}
