import { Injectable } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';

// INCR with the window set on the first hit; returns {count, ttl}. One round trip, atomic.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

// Failure counter with exponential lockout past the threshold: window * 2^(n-max), capped.
const FAIL = `
local n = redis.call('INCR', KEYS[1])
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
if n == 1 then redis.call('EXPIRE', KEYS[1], window) end
if n >= max then
  local lock = math.min(window * math.pow(2, n - max), cap)
  if lock > redis.call('TTL', KEYS[1]) then redis.call('EXPIRE', KEYS[1], lock) end
end
return {n, redis.call('TTL', KEYS[1])}`;

const PEEK = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return {n, redis.call('TTL', KEYS[1])}`;

export interface CounterState {
  count: number;
  retryAfterSeconds: number;
}

/**
 * Counters for abuse protection (login, resend). Atomic in Redis; errors propagate so callers
 * fail closed when Redis is unreachable.
 */
@Injectable()
export class RateLimiter {
  constructor(private readonly redis: RedisService) {}

  private async eval(
    script: string,
    key: string,
    ...args: (string | number)[]
  ): Promise<CounterState> {
    const [count, ttl] = (await this.redis.client.eval(
      script,
      1,
      this.redis.key('rl', key),
      ...args,
    )) as [number, number];
    return { count, retryAfterSeconds: Math.max(ttl, 1) };
  }

  /** Counts one hit in a fixed window; `allowed` is false past `limit`. */
  async hit(
    key: string,
    limit: number,
    windowSeconds: number,
  ): Promise<CounterState & { allowed: boolean }> {
    const state = await this.eval(HIT, key, windowSeconds);
    return { ...state, allowed: state.count <= limit };
  }

  async peek(key: string): Promise<CounterState> {
    return this.eval(PEEK, key);
  }

  async recordFailure(
    key: string,
    windowSeconds: number,
    max: number,
    capSeconds: number,
  ): Promise<CounterState> {
    return this.eval(FAIL, key, windowSeconds, max, capSeconds);
  }

  async reset(key: string): Promise<void> {
    await this.redis.client.del(this.redis.key('rl', key));
  }
}
