import { randomBytes } from 'node:crypto';
import { PolicyRateLimiter } from '../../src/security/policy-rate-limiter';
import { RateLimiter } from '../../src/security/rate-limiter.service';
import { Harness } from '../helpers/harness';

describe('RateLimiter against real Redis', () => {
  let h: Harness;
  let limiter: RateLimiter;
  beforeAll(async () => {
    h = await Harness.start({ worker: false });
    limiter = h.app.get(RateLimiter);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('admits exactly the limit under 500 concurrent hits', async () => {
    const key = `test:${randomBytes(4).toString('hex')}`;
    const results = await Promise.all(Array.from({ length: 500 }, () => limiter.hit(key, 100, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(Math.max(...results.map((r) => r.count))).toBe(500);
  });

  it('policy GCRA limiter admits 100 of 1,000 concurrent requests against capacity 100, across the window', async () => {
    const policy = h.app.get(PolicyRateLimiter);
    const key = `gcra:${randomBytes(4).toString('hex')}`;
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => policy.rateLimit(key, 100, 60_000)),
    );
    const admitted = results.filter((r) => r.allowed).length;
    expect(admitted).toBeGreaterThanOrEqual(99);
    expect(admitted).toBeLessThanOrEqual(101);
    const refused = results.find((r) => !r.allowed)!;
    expect(refused).toMatchObject({ limit: 100, remaining: 0 });
    expect(refused.resetSeconds).toBe(1); // the next slot frees after window/capacity = 0.6 s
  });

  it('policy GCRA limiter refills at window/capacity', async () => {
    const policy = h.app.get(PolicyRateLimiter);
    const key = `gcra:${randomBytes(4).toString('hex')}`;
    expect((await policy.rateLimit(key, 2, 1000)).allowed).toBe(true);
    expect((await policy.rateLimit(key, 2, 1000)).allowed).toBe(true);
    expect((await policy.rateLimit(key, 2, 1000)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 600));
    expect((await policy.rateLimit(key, 2, 1000)).allowed).toBe(true);
  });

  it('locks out exponentially past the failure threshold, capped', async () => {
    const key = `test:${randomBytes(4).toString('hex')}`;
    const ttls: number[] = [];
    for (let i = 0; i < 8; i++)
      ttls.push((await limiter.recordFailure(key, 60, 5, 600)).retryAfterSeconds);
    expect(ttls.slice(0, 4).every((t) => t <= 60)).toBe(true);
    expect(ttls[4]).toBeGreaterThanOrEqual(59); // 5th failure: 60 s
    expect(ttls[5]).toBeGreaterThan(100); // 120 s
    expect(ttls[6]).toBeGreaterThan(200); // 240 s
    expect(ttls[7]).toBeLessThanOrEqual(600); // capped
    expect((await limiter.peek(key)).count).toBe(8);
    await limiter.reset(key);
    expect((await limiter.peek(key)).count).toBe(0);
  });
});
