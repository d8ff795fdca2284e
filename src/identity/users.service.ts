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

  /** The user behind a session, or null when the user is gone or voided sessions this old. */
  async findSessionUser(id: string, sessionCreatedAt: number): Promise<AuthUser | null> {
    const user = await this.users.findOneBy({ id });
    if (!user) return null;
    if (user.sessionsValidAfter && sessionCreatedAt < user.sessionsValidAfter.getTime())
      return null;
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
