import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CookieOptions } from 'express';
import { AppConfig } from '../config/app-config';
import { RedisService } from '../redis/redis.service';
import { hashToken, ONE_TIME_TOKEN_PATTERN } from './tokens';

export const SESSION_COOKIE = 'it_session';

interface StoredSession {
  userId: string;
  createdAt: number;
  absoluteExpiresAt: number;
  /** The user's session epoch when it was made (read together with the credential it checked). */
  epoch?: number;
  /** Set when the session was started by this org's SAML SSO (SSO-required orgs accept only these). */
  ssoOrgId?: string;
  /** The org connection's generation at login: a changed or removed IdP ends the session. */
  ssoGeneration?: number;
}

export interface ActiveSession extends StoredSession {
  /** Redis key suffix (hash of the cookie value), safe to keep in memory and logs. */
  key: string;
}

/**
 * Server-side sessions in Redis. The cookie holds 256 random bits; Redis holds only their hash,
 * with an idle TTL refreshed on use and an absolute expiry that no activity extends.
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {}

  private redisKey(key: string): string {
    return this.redis.key('sess', key);
  }

  async create(
    userId: string,
    options: { epoch: number; sso?: { orgId: string; generation: number } },
  ): Promise<{ token: string; session: ActiveSession }> {
    const token = randomBytes(32).toString('base64url');
    const key = hashToken(token);
    const now = Date.now();
    const stored: StoredSession = {
      userId,
      createdAt: now,
      absoluteExpiresAt: now + this.config.SESSION_ABSOLUTE_TTL_SECONDS * 1000,
      epoch: options.epoch,
      ...(options.sso
        ? { ssoOrgId: options.sso.orgId, ssoGeneration: options.sso.generation }
        : {}),
    };
    await this.redis.client.set(
      this.redisKey(key),
      JSON.stringify(stored),
      'EX',
      this.config.SESSION_IDLE_TTL_SECONDS,
    );
    return { token, session: { ...stored, key } };
  }

  async find(token: string): Promise<ActiveSession | null> {
    if (!ONE_TIME_TOKEN_PATTERN.test(token)) return null;
    const key = hashToken(token);
    const raw = await this.redis.client.get(this.redisKey(key));
    if (!raw) return null;
    const stored = JSON.parse(raw) as StoredSession;
    const remainingMs = stored.absoluteExpiresAt - Date.now();
    if (remainingMs <= 0) {
      await this.destroyKey(key);
      return null;
    }
    const idleMs = Math.min(this.config.SESSION_IDLE_TTL_SECONDS * 1000, remainingMs);
    await this.redis.client.pexpire(this.redisKey(key), idleMs);
    return { ...stored, key };
  }

  async destroyKey(key: string): Promise<void> {
    await this.redis.client.del(this.redisKey(key));
  }

  cookieOptions(): CookieOptions {
    return {
      httpOnly: true,
      secure: this.config.COOKIE_SECURE,
      sameSite: 'lax',
      path: '/',
      maxAge: this.config.SESSION_ABSOLUTE_TTL_SECONDS * 1000,
    };
  }
}
