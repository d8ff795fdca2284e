import { randomBytes } from 'node:crypto';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { CookieOptions, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { AppError } from '../common/app-error';
import { isDependencyDown } from '../common/problem.filter';
import { AppConfig } from '../config/app-config';
import { RateLimiter } from '../security/rate-limiter.service';
import { safeRelayPath } from './relay-state';
import { SamlConfigService } from './saml-config.service';
import { inspectResponse, SamlRejection, type SsoFailureReason } from './saml-xml';
import type { SamlRequest } from './saml.strategy';
import { SsoLoginService } from './sso-login.service';
import { addressBucket } from '../security/address-bucket';

const LOGIN_STARTS_PER_MINUTE = 60;
const REQUEST_ID = /^_[0-9a-f]{40}$/;

function newRequestId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

/**
 * Options of that cookie: sent only to this org's ACS, and SameSite=None because the IdP's form
 * post to the ACS is a cross-site request (so it must be Secure as well).
 */
export function requestCookieOptions(acsUrl: string, maxAgeMs?: number): CookieOptions {
  return {
    httpOnly: true,
    secure: true,
    sameSite: 'none',
    path: new URL(acsUrl).pathname,
    ...(maxAgeMs === undefined ? {} : { maxAge: maxAgeMs }),
  };
}

/** The cookie that ties an AuthnRequest to the browser that started it; null for foreign ids. */
export function requestCookieName(requestId: string): string | null {
  return REQUEST_ID.test(requestId) ? `it_saml_${requestId.slice(1)}` : null;
}

/** Fixed texts per reason: node-saml's own messages can quote assertion content, these never do. */
const REASON_TEXT: Record<SsoFailureReason, string> = {
  'not-configured': 'This org has no enabled SAML connection',
  'binding-not-supported': 'Only the HTTP-POST binding is accepted here',
  malformed: 'The SAML response is not well-formed',
  'xml-dtd': 'The SAML response contains a DTD',
  'xml-comment': 'The SAML response contains XML comments',
  'too-large': 'The SAML response is too large',
  destination: 'The response is addressed to another ACS URL',
  recipient: 'The assertion is meant for another ACS URL',
  'multiple-assertions': 'The response must carry exactly one assertion',
  'encrypted-assertion': 'Encrypted assertions are not supported',
  'weak-algorithm': 'The signature uses a weak algorithm; use RSA-SHA256 or stronger',
  'idp-error': 'The IdP reported an error',
  signature: 'The signature is missing or not made by the configured IdP certificate',
  issuer: 'The assertion was not issued by the configured IdP',
  audience: 'The assertion is meant for another service provider',
  expired: 'The assertion has expired',
  'not-yet-valid': 'The assertion is not valid yet',
  unsolicited: 'Unsolicited responses are not accepted; start the login at InstaTunnel',
  'in-response-to': 'The response does not answer a login started here (or it was used already)',
  replay: 'This assertion was already used',
  'browser-mismatch': 'The login was started in another browser; start it again here',
  'email-missing': 'The assertion carries no usable email address',
  'domain-not-allowed': 'The email domain is not allowed for this org',
  'user-not-provisioned': 'The user has no access and just-in-time provisioning is off',
  'no-role': 'No group of this user maps to a role in the org',
  'invalid-response': 'The SAML response was refused',
};

/** Sorts node-saml's error messages into our reasons. */
function reasonOf(err: unknown): SsoFailureReason {
  if (err instanceof SamlRejection) return err.reason;
  const msg = err instanceof Error ? err.message : '';
  const table: [RegExp, SsoFailureReason][] = [
    [/multiple assertions/i, 'multiple-assertions'],
    [/signature|transforms/i, 'signature'],
    [/audience/i, 'audience'],
    [/not yet valid/i, 'not-yet-valid'],
    [/expired|subject confirmation/i, 'expired'],
    [/InResponseTo is missing/i, 'unsolicited'],
    [/InResponseTo/i, 'in-response-to'],
    [/issuer/i, 'issuer'],
    [/SAML provider returned|status/i, 'idp-error'],
  ];
  return table.find(([re]) => re.test(msg))?.[1] ?? 'invalid-response';
}

/**
 * Runs passport's SAML strategy for /saml/:orgSlug/login and /acs, with our checks around it:
 * the org's connection is loaded first, Redirect-binding messages are refused (nothing is ever
 * inflated), the raw response is inspected before node-saml sees it, and every refusal becomes an
 * `sso-failed` problem with a stable reason, an audit event and a metric.
 */
@Injectable()
export class SamlAuthGuard extends AuthGuard('saml') {
  constructor(
    private readonly samlConfig: SamlConfigService,
    private readonly logins: SsoLoginService,
    private readonly config: AppConfig,
    private readonly limiter: RateLimiter,
  ) {
    super();
  }

  override getAuthenticateOptions() {
    return { session: false };
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<SamlRequest>();
    const isAcs = req.method === 'POST';
    let orgId: string | null = null;
    try {
      const slug = String(req.params.orgSlug ?? '');
      req.samlContext = await this.samlConfig.context(slug);
      orgId = req.samlContext.org.id;
      const query = req.query as Record<string, unknown>;
      if ('SAMLResponse' in query || 'SAMLRequest' in query) {
        throw new SamlRejection('binding-not-supported', 'Redirect-binding messages are refused');
      }
      if (isAcs) {
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (body.SAMLRequest !== undefined) {
          throw new SamlRejection('binding-not-supported', 'SAML requests are not accepted here');
        }
        if (typeof body.SAMLResponse !== 'string') {
          throw new SamlRejection('malformed', 'The form has no SAMLResponse');
        }
        const facts = inspectResponse(body.SAMLResponse, {
          acsUrl: req.samlContext.sp.acsUrl,
          skewMs: this.config.SAML_CLOCK_SKEW_SECONDS * 1000,
        });
        if (this.config.COOKIE_SECURE && facts.inResponseTo !== null) {
          // The answer to a login must come back to the browser that started it (login CSRF).
          const cookies = (req.cookies ?? {}) as Record<string, string>;
          const name = requestCookieName(facts.inResponseTo);
          if (!name || cookies[name] !== '1') {
            throw new SamlRejection(
              'browser-mismatch',
              'The login was not started in this browser',
            );
          }
        }
      } else {
        // Each login start stores a request id in Redis for SAML_REQUEST_TTL_SECONDS: bound it.
        const starts = await this.limiter.hit(
          `saml-login:${addressBucket(req.ip)}`,
          LOGIN_STARTS_PER_MINUTE,
          60,
        );
        if (!starts.allowed) {
          throw new AppError('too-many-requests', 'Too many SSO logins started from this address', {
            headers: { 'Retry-After': String(starts.retryAfterSeconds) },
          });
        }
        const relay = query.RelayState;
        if (relay !== undefined && safeRelayPath(relay) === null) {
          throw new AppError('validation-error', 'RelayState must be a path on this site', {
            errors: [
              { field: 'RelayState', messages: ['must be a same-site path such as /v1/me'] },
            ],
          });
        }
        const requestId = newRequestId();
        req.samlContext.options.generateUniqueId = () => requestId;
        if (this.config.COOKIE_SECURE) {
          ctx
            .switchToHttp()
            .getResponse<Response>()
            .cookie(
              requestCookieName(requestId)!,
              '1',
              requestCookieOptions(
                req.samlContext.sp.acsUrl,
                this.config.SAML_REQUEST_TTL_SECONDS * 1000,
              ),
            );
        }
      }
      return (await super.canActivate(ctx)) as boolean;
    } catch (err) {
      if (err instanceof AppError || isDependencyDown(err) || err instanceof QueryFailedError) {
        throw err;
      }
      const reason = reasonOf(err);
      if (orgId === null && err instanceof SamlRejection) orgId = err.orgId;
      await this.logins.recordFailure(orgId, reason, req.ip ?? null);
      throw new AppError(
        reason === 'not-configured' ? 'sso-not-configured' : 'sso-failed',
        REASON_TEXT[reason],
        {
          extra: { reason },
        },
      );
    }
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new SamlRejection('invalid-response', 'No user');
    return user;
  }
}
