import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength, MinLength } from 'class-validator';

const trimLower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class SignupDto {
  @ApiProperty({ example: 'dev@example.com', maxLength: 254 })
  @Transform(trimLower)
  @IsEmail(
    { allow_display_name: false, allow_ip_domain: false },
    { message: 'email must be a valid email address' },
  )
  @MaxLength(254)
  email!: string;

  @ApiProperty({ minLength: 12, maxLength: 256, example: 'correct horse battery staple' })
  @IsString()
  @MinLength(12, { message: 'password must be at least 12 characters' })
  @MaxLength(256, { message: 'password must be at most 256 characters' })
  password!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'dev@example.com' })
  @Transform(trimLower)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password!: string;
}

export class VerifyEmailDto {
  @ApiProperty({ description: 'The token from the verification mail link' })
  @IsString()
  @MaxLength(128)
  @Matches(/^\S+$/, { message: 'token must not contain spaces' })
  token!: string;
}

export class ResendVerificationDto {
  @ApiProperty({ example: 'dev@example.com' })
  @Transform(trimLower)
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email!: string;
}

export class AcceptedDto {
  @ApiProperty({ example: 'If the address can receive mail, a message is on its way.' })
  message!: string;
}

export class MeOrgDto {
  @ApiProperty() id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['owner', 'admin', 'member', 'auditor'] }) role!: string;
}

export class MeApiKeyDto {
  @ApiProperty() id!: string;
  @ApiProperty() orgId!: string;
  @ApiProperty({ type: [String] }) scopes!: string[];
}

export class MeDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() emailVerified!: boolean;
  @ApiProperty() isPlatformAdmin!: boolean;
  @ApiProperty({ enum: ['session', 'api_key'] }) authenticatedWith!: 'session' | 'api_key';
  @ApiProperty({ type: MeApiKeyDto, required: false }) apiKey?: MeApiKeyDto;
  @ApiProperty({
    required: false,
    format: 'uuid',
    description: "Set when the session was started by this org's SAML login",
  })
  ssoOrgId?: string;
  @ApiProperty({ type: [MeOrgDto] }) orgs!: MeOrgDto[];
}
