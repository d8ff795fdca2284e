import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError } from '../common/app-error';
import { isUniqueViolation } from '../common/db-errors';
import { AppConfig } from '../config/app-config';
import { mailTemplates } from '../mail/mail-templates';
import { MailService } from '../mail/mail.service';
import { RateLimiter } from '../security/rate-limiter.service';
import { EmailVerificationToken } from './entities/email-verification-token.entity';
import { User } from './entities/user.entity';
import { PasswordHasher } from './password-hasher';
import { SessionService } from './session.service';
import { hashToken, newOneTimeToken } from './tokens';
import { normalizeEmail, toAuthUser, UsersService } from './users.service';
import type { AuthUser } from './principal';
import { addressBucket } from '../security/address-bucket';

const LOCKOUT_CAP_SECONDS = 24 * 3600;
const RESEND_PER_EMAIL_PER_HOUR = 3;
const RESEND_PER_IP_PER_HOUR = 20;
const SIGNUP_PER_EMAIL_PER_HOUR = 5;
const SIGNUP_PER_IP_PER_HOUR = 20;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly mail: MailService,
    private readonly audit: AuditService,
    private readonly limiter: RateLimiter,
  ) {}

  private link(path: string, token: string): string {
    // Always from PUBLIC_URL: on a tunnel platform the Host header is attacker-controlled.
    const url = new URL(path, this.config.PUBLIC_URL);
    url.searchParams.set('token', token);
    return url.toString();
  }

  private async issueVerificationToken(em: EntityManager, userId: string): Promise<string> {
    const { token, hash } = newOneTimeToken();
    await em.insert(EmailVerificationToken, {
      userId,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + this.config.EMAIL_TOKEN_TTL_SECONDS * 1000),
    });
    return token;
  }

  private verificationMail(email: string, token: string) {
    return mailTemplates.verifyEmail(
      email,
      this.link('/verify-email', token),
      Math.round(this.config.EMAIL_TOKEN_TTL_SECONDS / 3600),
    );
  }

  /**
   * Same answer and about the same work whether or not the address has an account: the password
   * is always hashed and one mail is always queued.
   */
  async signup(rawEmail: string, password: string, ip: string | null): Promise<void> {
    const email = normalizeEmail(rawEmail);
    // Every signup sends a mail: cap it per address and per IP so nobody is mail-bombed through us.
    await this.enforceHourly(
      'signup',
      email,
      ip,
      SIGNUP_PER_EMAIL_PER_HOUR,
      SIGNUP_PER_IP_PER_HOUR,
    );
    const passwordHash = await this.hasher.hash(password);
    const existing = await this.users.findByEmailWithPassword(email);
    if (existing) return this.signupExisting(existing);
    let token: string;
    try {
      token = await this.db.transaction(async (em) => {
        const user = em.create(User, {
          email,
          passwordHash,
          emailVerifiedAt: null,
          isPlatformAdmin: false,
        });
        await em.save(user);
        const t = await this.issueVerificationToken(em, user.id);
        await this.audit.record(em, {
          action: 'user.signed_up',
          actorType: 'user',
          actorId: user.id,
          targetType: 'user',
          targetId: user.id,
        });
        return t;
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const raced = await this.users.findByEmailWithPassword(email);
      if (!raced) throw err;
      return this.signupExisting(raced);
    }
    await this.mail.enqueue(this.verificationMail(email, token));
  }

  private async signupExisting(user: User): Promise<void> {
    if (user.emailVerifiedAt === null) {
      const token = await this.db.transaction((em) => this.issueVerificationToken(em, user.id));
      await this.mail.enqueue(this.verificationMail(user.email, token));
      return;
    }
    await this.mail.enqueue(
      mailTemplates.alreadyRegistered(user.email, new URL('/', this.config.PUBLIC_URL).toString()),
    );
  }

  async verifyEmail(token: string): Promise<AuthUser> {
    return this.db.transaction(async (em) => {
      const row = await em
        .createQueryBuilder(EmailVerificationToken, 't')
        .setLock('pessimistic_write')
        .where('t.tokenHash = :hash', { hash: hashToken(token) })
        .getOne();
      if (!row) throw new AppError('token-invalid', 'This verification link is not valid');
      if (row.usedAt) throw new AppError('token-used', 'This verification link was already used');
      if (row.expiresAt.getTime() <= Date.now()) {
        throw new AppError(
          'token-expired',
          'This verification link has expired; ask for a new one',
        );
      }
      const now = new Date();
      // Consume this token and every other outstanding one of the user.
      await em
        .createQueryBuilder()
        .update(EmailVerificationToken)
        .set({ usedAt: now })
        .where('user_id = :uid AND used_at IS NULL', { uid: row.userId })
        .execute();
      await em
        .createQueryBuilder()
        .update(User)
        .set({ emailVerifiedAt: now })
        .where('id = :id AND email_verified_at IS NULL', { id: row.userId })
        .execute();
      await this.audit.record(em, {
        action: 'user.email_verified',
        actorType: 'user',
        actorId: row.userId,
        targetType: 'user',
        targetId: row.userId,
      });
      const user = await em.findOneByOrFail(User, { id: row.userId });
      return toAuthUser(user);
    });
  }

  private async enforceHourly(
    action: string,
    email: string,
    ip: string | null,
    perEmail: number,
    perIp: number,
  ) {
    const [byEmail, byIp] = await Promise.all([
      this.limiter.hit(`${action}:email:${email}`, perEmail, 3600),
      this.limiter.hit(`${action}:ip:${addressBucket(ip)}`, perIp, 3600),
    ]);
    for (const state of [byEmail, byIp]) {
      if (!state.allowed) {
        throw new AppError(
          'too-many-requests',
          'Too many requests for this address or network; try later',
          {
            headers: { 'Retry-After': String(state.retryAfterSeconds) },
          },
        );
      }
    }
  }

  /** Rate-limited per address and per IP; answers the same for every address and does the work after. */
  async resendVerification(rawEmail: string, ip: string | null): Promise<void> {
    const email = normalizeEmail(rawEmail);
    await this.enforceHourly(
      'resend',
      email,
      ip,
      RESEND_PER_EMAIL_PER_HOUR,
      RESEND_PER_IP_PER_HOUR,
    );
    setImmediate(() => {
      this.resendNow(email).catch((err: unknown) =>
        this.logger.error({ err }, 'resend verification failed'),
      );
    });
  }

  private async resendNow(email: string): Promise<void> {
    const user = await this.users.findByEmailWithPassword(email);
    if (!user || user.emailVerifiedAt !== null) return;
    const token = await this.db.transaction((em) => this.issueVerificationToken(em, user.id));
    await this.mail.enqueue(this.verificationMail(user.email, token));
  }

  /**
   * Password login with back-off per account and per IP. The limiter is checked before the
   * password, and a Redis outage makes login fail closed (503).
   */
  async login(
    rawEmail: string,
    password: string,
    ip: string | null,
  ): Promise<{ user: AuthUser; token: string }> {
    const email = normalizeEmail(rawEmail);
    const accountKey = `login:acct:${email}`;
    const ipKey = `login:ip:${addressBucket(ip)}`;
    const [acct, byIp] = await Promise.all([
      this.limiter.peek(accountKey),
      this.limiter.peek(ipKey),
    ]);
    const locked =
      acct.count >= this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT
        ? acct
        : byIp.count >= this.config.LOGIN_MAX_FAILURES_PER_IP
          ? byIp
          : null;
    if (locked) {
      throw new AppError('too-many-requests', 'Too many failed logins; wait before trying again', {
        headers: { 'Retry-After': String(locked.retryAfterSeconds) },
      });
    }

    const user = await this.users.findByEmailWithPassword(email);
    const ok = user?.passwordHash
      ? await this.hasher.verify(user.passwordHash, password)
      : await this.hasher.verifyNothing(password);

    if (!user || !ok) {
      const window = this.config.LOGIN_FAILURE_WINDOW_SECONDS;
      await Promise.all([
        this.limiter.recordFailure(
          accountKey,
          window,
          this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
          LOCKOUT_CAP_SECONDS,
        ),
        this.limiter.recordFailure(
          ipKey,
          window,
          this.config.LOGIN_MAX_FAILURES_PER_IP,
          LOCKOUT_CAP_SECONDS,
        ),
      ]);
      await this.db.transaction((em) =>
        this.audit.record(em, {
          action: 'user.login_failed',
          actorType: user ? 'user' : 'anonymous',
          actorId: user?.id ?? null,
          targetType: 'user',
          targetId: user?.id ?? null,
          metadata: { reason: user ? 'wrong_password' : 'unknown_email' },
        }),
      );
      throw new AppError('invalid-credentials', 'Email or password is wrong');
    }

    await this.limiter.reset(accountKey);
    // Sessions live in Redis, outside the transaction: record first so no session exists unaudited.
    await this.db.transaction((em) =>
      this.audit.record(em, {
        action: 'user.logged_in',
        actorType: 'user',
        actorId: user.id,
        targetType: 'user',
        targetId: user.id,
        metadata: { method: 'password' },
      }),
    );
    // The epoch read with the password hash: an SSO takeover committing meanwhile voids this session.
    const { token } = await this.sessions.create(user.id, { epoch: user.sessionEpoch });
    return { user: toAuthUser(user), token };
  }

  async logout(userId: string, sessionKey: string): Promise<void> {
    await this.sessions.destroyKey(sessionKey);
    await this.db.transaction((em) =>
      this.audit.record(em, {
        action: 'user.logged_out',
        actorType: 'user',
        actorId: userId,
        targetType: 'user',
        targetId: userId,
      }),
    );
  }
}
