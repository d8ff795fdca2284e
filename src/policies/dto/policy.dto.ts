import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
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
