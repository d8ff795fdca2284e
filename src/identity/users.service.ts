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

  async findAuthUser(id: string): Promise<AuthUser | null> {
    const user = await this.users.findOneBy({ id });
    return user ? toAuthUser(user) : null;
  }

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
    const user = await this.users.findOneBy({ id: session.userId });
    if (!user || user.sessionEpoch !== (session.epoch ?? 0)) return null;
    if (session.ssoOrgId) {
      const rows: { generation: number }[] = await this.users.query(
        'SELECT generation FROM saml_connections WHERE org_id = $1 AND enabled',
        [session.ssoOrgId],
      );
      if (rows[0]?.generation !== session.ssoGeneration) return null;
    }
    return toAuthUser(user);
  }

  findByEmailWithPassword(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email: normalizeEmail(email) })
      .getOne();
  }
}
