import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  NotContains,
} from 'class-validator';
import { NO_CONTROL_CHARS } from '../../common/text';
import { Role, ROLES } from '../../identity/roles';

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,46}[a-z0-9])$/;

export class CreateOrgDto {
  @ApiProperty({ example: 'Acme Corp', maxLength: 100 })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(NO_CONTROL_CHARS, { message: 'name must not contain control characters' })
  name!: string;

  @ApiProperty({
    example: 'acme',
    pattern: SLUG_PATTERN.source,
    description: '3-48 chars: a-z, 0-9, -',
  })
  @IsString()
  @Matches(SLUG_PATTERN, {
    message:
      'slug must be 3-48 characters of a-z, 0-9 and -, starting and ending with a letter or digit',
  })
  @NotContains('--', { message: 'slug must not contain "--"' })
  slug!: string;
}

export class OrgDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() slug!: string;
  @ApiProperty({ enum: ROLES, description: "The caller's role" }) role!: Role;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class MemberDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Display name from the org IdP' })
  name!: string | null;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ type: String, format: 'date-time' }) joinedAt!: Date;
}

export class ChangeRoleDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role!: Role;
}

export class CreateInvitationDto {
  @ApiProperty({ example: 'teammate@example.com' })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES, { message: `role must be one of: ${ROLES.join(', ')}` })
  role!: Role;
}

export class InvitationDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class AcceptInvitationDto {
  @ApiProperty({ description: 'The token from the invitation mail link' })
  @IsString()
  @MaxLength(128)
  token!: string;
}
