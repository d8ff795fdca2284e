import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { UuidParam } from '../common/uuid-param.pipe';
import { ApiKeysService } from '../identity/api-keys.service';
import {
  ApiAuth,
  CurrentOrgAccess,
  CurrentPrincipal,
  RequireScopes,
  RequireVerifiedEmail,
} from '../identity/auth.decorators';
import { ApiKeyDto } from '../identity/dto/api-key.dto';
import type { OrgAccess, Principal } from '../identity/principal';
import {
  AcceptInvitationDto,
  ChangeRoleDto,
  CreateInvitationDto,
  CreateOrgDto,
  InvitationDto,
  MemberDto,
  OrgDto,
} from './dto/org.dto';
import { InvitationsService } from './invitations.service';
import { OrgsService } from './orgs.service';

@ApiTags('orgs')
@ApiAuth()
@Controller('v1/orgs')
export class OrgsController {
  constructor(
    private readonly orgs: OrgsService,
    private readonly invitations: InvitationsService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  @Post()
  @RequireVerifiedEmail()
  @ApiOperation({ summary: 'Create an org; the creator becomes its owner' })
  @ApiCreatedResponse({ type: OrgDto })
  @ApiConflictResponse({ description: 'Slug taken or reserved' })
  create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateOrgDto): Promise<OrgDto> {
    return this.orgs.create(principal, dto);
  }

  @Get()
  @ApiOperation({ summary: 'Orgs you belong to (an API key sees its own org only)' })
  @ApiOkResponse({ type: [OrgDto] })
  list(@CurrentPrincipal() principal: Principal): Promise<OrgDto[]> {
    return this.orgs.listFor(principal);
  }

  @Get(':orgId')
  @RequireScopes('org:read')
  @ApiOkResponse({ type: OrgDto })
  get(@CurrentOrgAccess() access: OrgAccess): Promise<OrgDto> {
    return this.orgs.get(access);
  }

  @Get(':orgId/members')
  @RequireScopes('org:read')
  @ApiOkResponse({ type: [MemberDto] })
  members(@CurrentOrgAccess() access: OrgAccess): Promise<MemberDto[]> {
    return this.orgs.listMembers(access.orgId);
  }

  @Patch(':orgId/members/:userId')
  @RequireScopes('members:write')
  @ApiOperation({
    summary: "Change a member's role (owners only for the owner role; the last owner stays)",
  })
  @ApiOkResponse({ type: MemberDto })
  @ApiConflictResponse({ description: 'Would leave the org without an owner' })
  changeRole(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('userId', new UuidParam('member')) userId: string,
    @Body() dto: ChangeRoleDto,
  ): Promise<MemberDto> {
    return this.orgs.changeRole(access, userId, dto.role);
  }

  @Delete(':orgId/members/:userId')
  @HttpCode(204)
  @RequireScopes('org:read')
  @ApiOperation({
    summary:
      'Remove a member (members:write), or leave the org yourself; their keys in the org are revoked',
  })
  @ApiNoContentResponse()
  @ApiConflictResponse({ description: 'Would leave the org without an owner' })
  removeMember(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Param('userId', new UuidParam('member')) userId: string,
  ): Promise<void> {
    return this.orgs.removeMember(access, principal, userId);
  }

  @Post(':orgId/invitations')
  @RequireScopes('members:write')
  @ApiOperation({ summary: 'Invite someone by email; they get a single-use link' })
  @ApiCreatedResponse({ type: InvitationDto })
  @ApiConflictResponse({ description: 'Already a member' })
  invite(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateInvitationDto,
  ): Promise<InvitationDto> {
    return this.invitations.invite(access, principal, dto);
  }

  @Get(':orgId/invitations')
  @RequireScopes('members:write')
  @ApiOkResponse({ type: [InvitationDto] })
  pendingInvitations(@CurrentOrgAccess() access: OrgAccess): Promise<InvitationDto[]> {
    return this.invitations.listPending(access.orgId);
  }

  @Delete(':orgId/invitations/:id')
  @HttpCode(204)
  @RequireScopes('members:write')
  @ApiNoContentResponse()
  revokeInvitation(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('invitation')) id: string,
  ): Promise<void> {
    return this.invitations.revoke(access, id);
  }

  @Get(':orgId/api-keys')
  @RequireScopes('members:write')
  @ApiOperation({
    summary: "Every API key of the org (for admins reviewing or revoking members' keys)",
  })
  @ApiOkResponse({ type: [ApiKeyDto] })
  orgApiKeys(@CurrentOrgAccess() access: OrgAccess): Promise<ApiKeyDto[]> {
    return this.apiKeys.listForOrg(access.orgId);
  }
}

@ApiTags('orgs')
@ApiAuth()
@Controller('v1/invitations')
export class InvitationsController {
  constructor(private readonly invitations: InvitationsService) {}

  @Post('accept')
  @RequireVerifiedEmail()
  @ApiOperation({ summary: 'Accept an invitation as the invited (verified) address' })
  @ApiCreatedResponse({ description: 'Membership created' })
  accept(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: AcceptInvitationDto,
  ): Promise<{ orgId: string; role: string }> {
    return this.invitations.accept(principal, dto.token);
  }
}
