import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AppError } from '../common/app-error';
import { requestContext } from '../common/request-context';
import { AccessService } from './access.service';
import { ApiKeysService } from './api-keys.service';
import { AuthedRequest, IS_PUBLIC, REQUIRED_SCOPES } from './auth.constants';
import type { Scope } from './roles';
import { SESSION_COOKIE, SessionService } from './session.service';
import { UsersService } from './users.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Global guard: every route needs a credential unless marked @Public(). The credential is picked
 * by its form: `Authorization: Bearer <api key>` or the session cookie.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (isPublic) return true;
    const req = ctx.switchToHttp().getRequest<Request & AuthedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();

    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new AppError('unauthenticated', 'Use "Authorization: Bearer <api key>"');
      req.principal = await this.apiKeys.authenticate(match[1], req.ip ?? null);
    } else {
      const token = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
      if (!token) throw new AppError('unauthenticated', 'Log in or send an API key');
      const session = await this.sessions.find(token);
      const user = session ? await this.users.findSessionUser(session) : null;
      if (!session || !user) {
        res.clearCookie(SESSION_COOKIE, { path: '/' });
        throw new AppError('session-expired', 'The session has ended; log in again');
      }
      req.principal = {
        kind: 'session',
        user,
        sessionKey: session.key,
        ssoOrgId: session.ssoOrgId ?? null,
      };
    }
    const store = requestContext.get();
    if (store) store.principal = req.principal;
    return true;
  }
}

@Injectable()
export class VerifiedEmailGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
    if (!principal) throw new AppError('unauthenticated');
    if (!principal.user.emailVerified) {
      throw new AppError(
        'email-not-verified',
        'Verify your email address first (see the mail we sent)',
      );
    }
    return true;
  }
}

/** Resolves `:orgId` to the caller's effective access; not a member (or another org's key) → 404. */
@Injectable()
export class OrgMemberGuard implements CanActivate {
  constructor(private readonly access: AccessService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request & AuthedRequest>();
    const principal = req.principal;
    if (!principal) throw new AppError('unauthenticated');
    const orgId = req.params.orgId;
    if (typeof orgId !== 'string' || !UUID.test(orgId))
      throw new AppError('not-found', 'No such org');
    req.orgAccess = await this.access.resolve(principal, orgId);
    return true;
  }
}

@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const required =
      this.reflector.getAllAndOverride<Scope[]>(REQUIRED_SCOPES, [
        ctx.getHandler(),
        ctx.getClass(),
      ]) ?? [];
    const access = ctx.switchToHttp().getRequest<AuthedRequest>().orgAccess;
    if (!access) throw new AppError('not-found', 'No such org');
    const missing = required.filter((s) => !access.scopes.has(s));
    if (missing.length > 0) {
      throw new AppError('insufficient-scope', `Missing scope: ${missing.join(', ')}`, {
        extra: { missingScopes: missing },
      });
    }
    return true;
  }
}

/** Platform operators only, and only with a session: an org API key never reaches /admin. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
    if (!principal) throw new AppError('unauthenticated');
    if (principal.kind !== 'session' || !principal.user.isPlatformAdmin) {
      throw new AppError('admin-required', 'This route needs a platform administrator session');
    }
    // An org's IdP must never be able to mint platform-admin access: password sessions only.
    if (principal.ssoOrgId !== null) {
      throw new AppError(
        'admin-required',
        'Log in with the platform password, not through an org SSO',
      );
    }
    return true;
  }
}
