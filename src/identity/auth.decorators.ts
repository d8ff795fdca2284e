import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
} from '@nestjs/swagger';
import { AppError } from '../common/app-error';
import { AuthedRequest, IS_PUBLIC, REQUIRED_SCOPES } from './auth.constants';
import { AdminGuard, OrgMemberGuard, ScopesGuard, VerifiedEmailGuard } from './guards';
import type { OrgAccess, Principal } from './principal';
import type { Scope } from './roles';

/** Opts a route out of the global auth guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * Org-scoped access: membership of `:orgId` (404 otherwise, so org ids do not leak), then every
 * listed scope (403). One decorator so the guard order cannot be changed by accident.
 */
export const RequireScopes = (...scopes: Scope[]) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    UseGuards(OrgMemberGuard, ScopesGuard),
    ApiNotFoundResponse({ description: 'Org not found or caller is not a member' }),
    ApiForbiddenResponse({ description: `Needs scopes: ${scopes.join(', ')}` }),
  );

export const RequireVerifiedEmail = () => UseGuards(VerifiedEmailGuard);

export const RequireAdmin = () => applyDecorators(UseGuards(AdminGuard), ApiCookieAuth('session'));

export const ApiAuth = () => applyDecorators(ApiBearerAuth('api-key'), ApiCookieAuth('session'));

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => {
    const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
    if (!principal) throw new AppError('unauthenticated');
    return principal;
  },
);

export const CurrentOrgAccess = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): OrgAccess => {
    const access = ctx.switchToHttp().getRequest<AuthedRequest>().orgAccess;
    if (!access) throw new Error('CurrentOrgAccess used on a route without @RequireScopes');
    return access;
  },
);
