import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { AppError } from '../common/app-error';
import {
  ApiAuth,
  CurrentOrgAccess,
  CurrentPrincipal,
  RequireScopes,
} from '../identity/auth.decorators';
import type { OrgAccess, Principal } from '../identity/principal';
import { DomainsService } from './domains.service';
import { AddDomainDto, DomainDto, PutSamlConnectionDto, SamlConnectionDto } from './dto/saml.dto';
import { SamlConfigService } from './saml-config.service';

@ApiTags('sso')
@ApiAuth()
@Controller('v1/orgs/:orgId')
export class SsoConfigController {
  constructor(
    private readonly saml: SamlConfigService,
    private readonly domains: DomainsService,
  ) {}

  @Get('sso/saml')
  @RequireScopes('sso:write')
  @ApiOkResponse({ type: SamlConnectionDto })
  get(@CurrentOrgAccess() access: OrgAccess): Promise<SamlConnectionDto> {
    return this.saml.get(access.orgId);
  }

  @Put('sso/saml')
  @RequireScopes('sso:write')
  @ApiOperation({ summary: 'Create or replace the org SAML connection' })
  @ApiOkResponse({ type: SamlConnectionDto })
  @ApiUnprocessableEntityResponse({ description: 'invalid-saml-config: every problem by field' })
  put(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() body: PutSamlConnectionDto,
  ): Promise<SamlConnectionDto> {
    return this.saml.put(access, principal.user.id, body);
  }

  @Post('sso/saml/metadata')
  @HttpCode(200)
  @RequireScopes('sso:write')
  @ApiOperation({
    summary: 'Import IdP metadata XML (entity id, SSO URL, signing certificates)',
    description:
      'Send the XML as application/samlmetadata+xml, application/xml or text/xml, or JSON { "metadata": "<xml>" }. Other settings are kept.',
  })
  @ApiConsumes('application/samlmetadata+xml', 'application/xml', 'application/json')
  @ApiBody({ schema: { type: 'string' } })
  @ApiOkResponse({ type: SamlConnectionDto })
  importMetadata(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
  ): Promise<SamlConnectionDto> {
    const xml =
      typeof body === 'string'
        ? body
        : typeof (body as { metadata?: unknown } | null)?.metadata === 'string'
          ? (body as { metadata: string }).metadata
          : null;
    if (!xml) {
      throw new AppError('validation-error', 'Send the IdP metadata XML', {
        errors: [{ field: 'metadata', messages: ['must be the IdP metadata XML'] }],
      });
    }
    return this.saml.importMetadata(access, principal.user.id, xml);
  }

  @Delete('sso/saml')
  @HttpCode(204)
  @RequireScopes('sso:write')
  @ApiNoContentResponse()
  async remove(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.saml.remove(access, principal.user.id);
  }

  @Get('domains')
  @RequireScopes('org:read')
  @ApiOkResponse({ type: [DomainDto] })
  listDomains(@CurrentOrgAccess() access: OrgAccess): Promise<DomainDto[]> {
    return this.domains.list(access.orgId);
  }

  @Post('domains')
  @RequireScopes('sso:write')
  @ApiOperation({ summary: 'Register an email domain; answers the TXT record that proves it' })
  @ApiCreatedResponse({ type: DomainDto })
  addDomain(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() body: AddDomainDto,
  ): Promise<DomainDto> {
    return this.domains.add(access.orgId, principal.user.id, body.domain);
  }

  @Post('domains/:domain/verify')
  @HttpCode(200)
  @RequireScopes('sso:write')
  @ApiOperation({ summary: 'Look up the TXT record now and mark the domain verified' })
  @ApiOkResponse({ type: DomainDto })
  verifyDomain(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('domain') domain: string,
  ): Promise<DomainDto> {
    return this.domains.verify(access.orgId, domain);
  }

  @Delete('domains/:domain')
  @HttpCode(204)
  @RequireScopes('sso:write')
  @ApiNoContentResponse()
  async removeDomain(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Param('domain') domain: string,
  ): Promise<void> {
    await this.domains.remove(access.orgId, principal.user.id, domain);
  }
}
