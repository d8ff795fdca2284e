import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  Max,
  Min,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { NO_CONTROL_CHARS } from '../../common/text';

export class CreatePolicyDto {
  @ApiProperty({ example: 'default', maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(NO_CONTROL_CHARS, { message: 'name must not contain control characters' })
  name!: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Attach to this reserved name; omit for the org default',
  })
  @IsOptional()
  @IsUUID('all', { message: 'reservedNameId must be a UUID' })
  reservedNameId?: string;

  @ApiProperty({
    description: 'The policy document: { rules: [{ name, match, actions }] }',
    type: Object,
  })
  @IsObject({ message: 'document must be an object' })
  document!: Record<string, unknown>;
}

export class UpdatePolicyDto {
  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(NO_CONTROL_CHARS, { message: 'name must not contain control characters' })
  name?: string;

  @ApiProperty({ type: Object })
  @IsObject({ message: 'document must be an object' })
  document!: Record<string, unknown>;
}

export class SimulatedRequestDto {
  @ApiProperty({ example: 'GET' })
  @IsString()
  @IsIn(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])
  method!: string;

  @ApiProperty({ example: '/api/items?x=1', description: 'Path with an optional query string' })
  @IsString()
  @Matches(/^\//, { message: 'path must start with /' })
  @MaxLength(8192)
  path!: string;

  @ApiPropertyOptional({ example: 'my-app.tunnels.example.com' })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  host?: string;

  @ApiProperty({ example: '203.0.113.7' })
  @IsString()
  @MaxLength(64)
  clientIp!: string;

  @ApiPropertyOptional({ type: Object, example: { 'user-agent': 'curl/8.5.0' } })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Body as text, for verify-webhook rules' })
  @IsOptional()
  @IsString()
  @MaxLength(262144)
  body?: string;
}

export class SimulateDto {
  @ApiProperty({ type: SimulatedRequestDto })
  @ValidateNested()
  @Type(() => SimulatedRequestDto)
  request!: SimulatedRequestDto;
}

export class PolicyDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) reservedNameId!: string | null;
  @ApiProperty() version!: number;
  @ApiProperty({ type: Object }) document!: Record<string, unknown>;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
}

export class PolicyVersionDto {
  @ApiProperty() version!: number;
  @ApiProperty({ type: Object }) document!: Record<string, unknown>;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) createdByUserId!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class PolicyEventsQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(63) tunnel?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) rule?: string;
  @ApiPropertyOptional({
    enum: ['deny', 'restrict-ips', 'rate-limit', 'basic-auth', 'verify-webhook'],
  })
  @IsOptional()
  @IsIn(['deny', 'restrict-ips', 'rate-limit', 'basic-auth', 'verify-webhook'])
  action?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(64) clientIp?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'cursor must be a nextCursor value' })
  cursor?: string;
}

export class PolicyEventDto {
  @ApiProperty() id!: string;
  @ApiProperty() tunnel!: string;
  @ApiProperty() rule!: string;
  @ApiProperty() action!: string;
  @ApiProperty() reason!: string;
  @ApiProperty() clientIp!: string;
  @ApiProperty() method!: string;
  @ApiProperty() path!: string;
  @ApiProperty() status!: number;
  @ApiProperty({ description: 'Requests blocked in this minute bucket' }) count!: number;
  @ApiProperty({ type: String, format: 'date-time' }) minute!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) firstSeen!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) lastSeen!: Date;
}

export class PolicyEventPageDto {
  @ApiProperty({ type: [PolicyEventDto] }) items!: PolicyEventDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
