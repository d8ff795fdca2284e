import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { RedisService } from '../redis/redis.service';

/**
 * node-saml's request-id cache in Redis, shared by every server node: the AuthnRequest id is saved
 * when the login starts and must still be there when the IdP posts back to any node. Keys are per
 * org, so a response to one org's request is unknown at another org's ACS.
 */
export class RedisSamlCache implements CacheProvider {
  constructor(
    private readonly redis: RedisService,
    private readonly orgId: string,
    private readonly ttlMs: number,
  ) {}

  private key(id: string): string {
    return this.redis.key('saml', 'req', this.orgId, id);
  }

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const ok = await this.redis.client.set(this.key(key), value, 'PX', this.ttlMs, 'NX');
    return ok === 'OK' ? { value, createdAt: Date.now() } : null;
  }

  async getAsync(key: string): Promise<string | null> {
    if (key.length > 256) return null;
    return this.redis.client.get(this.key(key));
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null || key.length > 256) return null;
    return this.redis.client.getdel(this.key(key));
  }
}
