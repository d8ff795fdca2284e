import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Post,
  Put,
  Query,
} from '@nestjs/common';
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
import { UuidParam } from '../common/uuid-param.pipe';
import {
  ApiAuth,
  CurrentOrgAccess,
  CurrentPrincipal,
  RequireScopes,
} from '../identity/auth.decorators';
import type { OrgAccess, Principal } from '../identity/principal';
import {
  CreatePolicyDto,
  PolicyDto,
  PolicyEventPageDto,
  PolicyEventsQuery,
  PolicyVersionDto,
  SimulateDto,
  UpdatePolicyDto,
} from './dto/policy.dto';
import { PoliciesService } from './policies.service';

@ApiTags('policies')
@ApiAuth()
@Controller('v1/orgs/:orgId/policies')
export class PoliciesController {
  constructor(private readonly policies: PoliciesService) {}

  @Get()
  @RequireScopes('policies:read')
  @ApiOkResponse({ type: [PolicyDto] })
  list(@CurrentOrgAccess() access: OrgAccess): Promise<PolicyDto[]> {
    return this.policies.list(access.orgId);
  }

  @Post()
  @RequireScopes('policies:write')
  @ApiOperation({
    summary: 'Create the org default policy, or one for a reserved name (JSON or application/yaml)',
  })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ type: CreatePolicyDto })
  @ApiCreatedResponse({ type: PolicyDto })
  @ApiUnprocessableEntityResponse({ description: 'invalid-policy: every error with its JSON path' })
  create(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
  ): Promise<PolicyDto> {
    return this.policies.create(access, principal.user.id, body);
  }

  @Get(':id')
  @RequireScopes('policies:read')
  @ApiOkResponse({ type: PolicyDto })
  get(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('policy')) id: string,
  ): Promise<PolicyDto> {
    return this.policies.get(access.orgId, id);
  }

  @Put(':id')
  @RequireScopes('policies:write')
  @ApiOperation({
    summary:
      'Replace the document: a new version (the old ones stay readable); audited with a rule diff',
  })
  @ApiConsumes('application/json', 'application/yaml')
  @ApiBody({ type: UpdatePolicyDto })
  @ApiOkResponse({ type: PolicyDto })
  update(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Param('id', new UuidParam('policy')) id: string,
    @Body() body: unknown,
  ): Promise<PolicyDto> {
    return this.policies.update(access, principal.user.id, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('policies:write')
  @ApiNoContentResponse()
  remove(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('policy')) id: string,
  ): Promise<void> {
    return this.policies.remove(access, id);
  }

  @Get(':id/versions')
  @RequireScopes('policies:read')
  @ApiOkResponse({ type: [PolicyVersionDto] })
  versions(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('policy')) id: string,
  ): Promise<PolicyVersionDto[]> {
    return this.policies.versions(access.orgId, id);
  }

  @Get(':id/versions/:version')
  @RequireScopes('policies:read')
  @ApiOkResponse({ type: PolicyVersionDto })
  version(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('policy')) id: string,
    @Param('version', ParseIntPipe) version: number,
  ): Promise<PolicyVersionDto> {
    return this.policies.version(access.orgId, id, version);
  }

  @Post(':id/simulate')
  @HttpCode(200)
  @RequireScopes('policies:read')
  @ApiOperation({
    summary: 'Which rules match a request, the decision, which actions ran (rate limits dry-run)',
  })
  simulate(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('policy')) id: string,
    @Body() dto: SimulateDto,
  ) {
    return this.policies.simulate(access.orgId, id, dto);
  }
}

@ApiTags('policies')
@ApiAuth()
@Controller('v1/orgs/:orgId/policy-events')
export class PolicyEventsController {
  constructor(private readonly policies: PoliciesService) {}

  @Get()
  @RequireScopes('policies:read')
  @ApiOperation({
    summary:
      'Traffic policy block events (deny, rate-limit, failed basic-auth or webhook), aggregated per minute',
  })
  @ApiOkResponse({ type: PolicyEventPageDto })
  list(
    @CurrentOrgAccess() access: OrgAccess,
    @Query() q: PolicyEventsQuery,
  ): Promise<PolicyEventPageDto> {
    return this.policies.events(access.orgId, q);
  }
}
