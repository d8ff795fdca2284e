import { Injectable, Logger } from '@nestjs/common';
import type { EngineDeps, RateLimitResult } from '@instatunnel/policy-engine';
import { RedisService } from '../redis/redis.service';

// GCRA (generic cell rate algorithm): one key per bucket holding the "theoretical arrival time".
// Redis's own clock (TIME) keeps every node on one timeline; one round trip, atomic.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = window / capacity
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, 0, math.ceil((allow_at - now) / 1000)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
return {1, math.floor((now - allow_at) / interval), math.ceil((new_tat - now) / 1000)}`;

/**
 * Rate limits of traffic policies, shared by all server nodes. GCRA admits at most `capacity`
 * requests per `window` with bursts up to `capacity`, then one every window/capacity. When Redis
 * is unreachable it fails open (tunnel traffic keeps flowing; the outage is logged and counted),
 * unlike login protection, which fails closed.
 */
@Injectable()
export class PolicyRateLimiter implements EngineDeps {
  private readonly logger = new Logger(PolicyRateLimiter.name);
  failOpenCount = 0;

  constructor(private readonly redis: RedisService) {}

  async rateLimit(key: string, capacity: number, windowMs: number): Promise<RateLimitResult> {
    try {
      const [allowed, remaining, reset] = (await this.redis.client.eval(
        GCRA,
        1,
        this.redis.key('prl', key),
        capacity,
        windowMs,
      )) as [number, number, number];
      return {
        allowed: allowed === 1,
        limit: capacity,
        remaining,
        resetSeconds: Math.max(reset, 1),
      };
    } catch (err) {
      this.failOpenCount++;
      if (this.failOpenCount === 1 || this.failOpenCount % 1000 === 0) {
        this.logger.warn(
          `policy rate limit failing open (${this.failOpenCount}): ${(err as Error).message}`,
        );
      }
      return { allowed: true, limit: capacity, remaining: capacity, resetSeconds: 1 };
    }
  }
}
