import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { UuidParam } from '../common/uuid-param.pipe';
import {
  ApiAuth,
  CurrentOrgAccess,
  CurrentPrincipal,
  RequireScopes,
} from '../identity/auth.decorators';
import type { OrgAccess, Principal } from '../identity/principal';
import { LiveTunnelDto, ReservedNameDto, ReserveNameDto } from './dto/tunnel.dto';
import { TunnelsService } from './tunnels.service';

@ApiTags('tunnels')
@ApiAuth()
@Controller('v1/orgs/:orgId')
export class TunnelsController {
  constructor(private readonly tunnels: TunnelsService) {}

  @Get('tunnels')
  @RequireScopes('tunnels:read')
  @ApiOperation({ summary: 'Live tunnels of the org, on every server node' })
  @ApiOkResponse({ type: [LiveTunnelDto] })
  list(@CurrentOrgAccess() access: OrgAccess): Promise<LiveTunnelDto[]> {
    return this.tunnels.list(access.orgId);
  }

  @Delete('tunnels/:id')
  @HttpCode(204)
  @RequireScopes('tunnels:write')
  @ApiOperation({
    summary: 'Force-close a live tunnel (audited); the agent reconnects unless its key is revoked',
  })
  @ApiNoContentResponse()
  close(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Param('id', new UuidParam('tunnel')) id: string,
  ): Promise<void> {
    return this.tunnels.forceClose(access, principal, id);
  }

  @Get('reserved-names')
  @RequireScopes('tunnels:read')
  @ApiOkResponse({ type: [ReservedNameDto] })
  reserved(@CurrentOrgAccess() access: OrgAccess): Promise<ReservedNameDto[]> {
    return this.tunnels.listReserved(access.orgId);
  }

  @Post('reserved-names')
  @RequireScopes('tunnels:write')
  @ApiOperation({ summary: "Reserve a name: only this org's keys can bind it" })
  @ApiCreatedResponse({ type: ReservedNameDto })
  @ApiConflictResponse({ description: 'Reserved by another org or live for another org' })
  reserve(
    @CurrentOrgAccess() access: OrgAccess,
    @CurrentPrincipal() principal: Principal,
    @Body() dto: ReserveNameDto,
  ): Promise<ReservedNameDto> {
    return this.tunnels.reserve(access, principal, dto.name);
  }

  @Delete('reserved-names/:id')
  @HttpCode(204)
  @RequireScopes('tunnels:write')
  @ApiNoContentResponse()
  release(
    @CurrentOrgAccess() access: OrgAccess,
    @Param('id', new UuidParam('reserved name')) id: string,
  ): Promise<void> {
    return this.tunnels.release(access, id);
  }
}
