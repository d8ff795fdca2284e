import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { UuidParam } from '../common/uuid-param.pipe';
import { ApiKeysService } from './api-keys.service';
import { ApiAuth, CurrentPrincipal, RequireVerifiedEmail } from './auth.decorators';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto, ListApiKeysQuery } from './dto/api-key.dto';
import type { Principal } from './principal';

@ApiTags('api-keys')
@ApiAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @RequireVerifiedEmail()
  @ApiOperation({
    summary: 'Create an API key for an org (needs keys:write; scopes never exceed your own)',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The `key` field is shown only here' })
  create(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.keys.create(principal, dto);
  }

  @Get()
  @ApiOperation({ summary: 'Your API keys (never the secret)' })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListApiKeysQuery,
  ): Promise<ApiKeyDto[]> {
    return this.keys.listOwn(principal, query.orgId);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke a key (yours, or any key of an org where you hold members:write)',
  })
  @ApiNoContentResponse()
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param('id', new UuidParam('API key')) id: string,
  ): Promise<void> {
    return this.keys.revoke(principal, id);
  }
}
