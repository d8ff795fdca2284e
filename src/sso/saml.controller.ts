import { Controller, Get, HttpCode, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiExcludeEndpoint,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import type { Response } from 'express';
import { Public } from '../identity/auth.decorators';
import { SESSION_COOKIE, SessionService } from '../identity/session.service';
import { DEFAULT_AFTER_LOGIN, safeRelayPath } from './relay-state';
import { requestCookieName, requestCookieOptions, SamlAuthGuard } from './saml-auth.guard';
import { SamlConfigService } from './saml-config.service';
import type { SamlRequest } from './saml.strategy';
import type { SsoLogin } from './sso-login.service';

/** The service-provider side of SAML: metadata, SP-initiated login, and the ACS. */
@ApiTags('sso')
@Public()
@Controller('saml/:orgSlug')
export class SamlController {
  constructor(
    private readonly samlConfig: SamlConfigService,
    private readonly sessions: SessionService,
  ) {}

  @Get('metadata')
  @ApiOperation({ summary: 'SP metadata (entity id, ACS URL) to give to the IdP' })
  @ApiProduces('application/samlmetadata+xml')
  @ApiOkResponse({ description: 'EntityDescriptor XML' })
  async metadata(@Param('orgSlug') slug: string, @Res() res: Response): Promise<void> {
    const org = await this.samlConfig.orgBySlug(slug);
    const sp = this.samlConfig.serviceProvider(org.slug);
    // Ask for signed assertions unless the org's connection takes a signed response instead.
    const mode = await this.samlConfig.signatureModeOf(org.id);
    const xml = generateServiceProviderMetadata({
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      wantAssertionsSigned: mode !== 'response',
      ...(this.samlConfig.spKey
        ? {
            privateKey: this.samlConfig.spKey.privateKeyPem,
            publicCerts: this.samlConfig.spKey.certPem,
          }
        : {}),
    });
    res.status(200).type('application/samlmetadata+xml').send(xml);
  }

  @Get('login')
  @UseGuards(SamlAuthGuard)
  @ApiOperation({
    summary: 'Start an SP-initiated login: redirects to the IdP (HTTP-Redirect binding)',
    description: 'Optional `RelayState`: a same-site path to land on afterwards (default /v1/me).',
  })
  login(): void {
    // The strategy has already answered with the redirect to the IdP.
  }

  @Post('acs')
  @HttpCode(303)
  @UseGuards(SamlAuthGuard)
  @ApiExcludeEndpoint()
  async acs(@Req() req: SamlRequest, @Res() res: Response): Promise<void> {
    const login = req.user as SsoLogin;
    const { token } = await this.sessions.create(login.userId, {
      epoch: login.epoch,
      sso: { orgId: login.orgId, generation: login.generation },
    });
    const relay = (req.body as Record<string, unknown> | undefined)?.RelayState;
    res.cookie(SESSION_COOKIE, token, this.sessions.cookieOptions());
    const requestCookie = login.inResponseTo ? requestCookieName(login.inResponseTo) : null;
    if (requestCookie && req.samlContext) {
      res.clearCookie(requestCookie, requestCookieOptions(req.samlContext.sp.acsUrl));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, safeRelayPath(relay) ?? DEFAULT_AFTER_LOGIN);
  }
}
