import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { User } from './entities/user.entity';
import type { AuthUser } from './principal';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toAuthUser(user: User): AuthUser {
  return {
    id: user.id,
    email: user.email,
    emailVerified: user.emailVerifiedAt !== null,
    isPlatformAdmin: user.isPlatformAdmin,
  };
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /**
   * The user behind a session, or null when the session no longer counts: the user is gone, their
   * session epoch moved on, or (for an SSO session) the org's connection was removed, disabled or
   * changed what it trusts since the login.
   */
  async findSessionUser(session: {
    userId: string;
    epoch?: number;
    ssoOrgId?: string;
    ssoGeneration?: number;
  }): Promise<AuthUser | null> {
    // One round trip (the generation sub-select finds nothing for a password session).
    const rows: (AuthUser & { epoch: number; generation: number | null })[] =
      await this.users.query(
        `SELECT u.id, u.email, u.email_verified_at IS NOT NULL AS "emailVerified",
              u.is_platform_admin AS "isPlatformAdmin", u.session_epoch AS epoch,
              (SELECT c.generation FROM saml_connections c
                WHERE c.org_id = $2 AND c.enabled) AS generation
         FROM users u WHERE u.id = $1`,
        [session.userId, session.ssoOrgId ?? null],
      );
    const row = rows[0];
    if (!row || row.epoch !== (session.epoch ?? 0)) return null;
    if (session.ssoOrgId && row.generation !== session.ssoGeneration) return null;
    return {
      id: row.id,
      email: row.email,
      emailVerified: row.emailVerified,
      isPlatformAdmin: row.isPlatformAdmin,
    };
  }

  findByEmailWithPassword(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email: normalizeEmail(email) })
      .getOne();
  }
}
