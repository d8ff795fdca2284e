import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { NO_CONTROL_CHARS } from '../../common/text';
import type { Role } from '../../identity/roles';
import { SIGNATURE_MODES, type SignatureMode } from '../entities/saml-connection.entity';

/** Roles SSO may hand out; ownership is only ever given by an owner, never by an IdP group. */
export const SSO_ROLES = ['admin', 'member', 'auditor'] as const;

export class AttributeMappingDto {
  @ApiPropertyOptional({
    example: 'email',
    description: 'Attribute with the email address; omit to use the NameID',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARS, { message: 'email must not contain control characters' })
  email?: string;

  @ApiPropertyOptional({ example: 'displayName' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARS, { message: 'name must not contain control characters' })
  name?: string;

  @ApiPropertyOptional({ example: 'groups' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARS, { message: 'groups must not contain control characters' })
  groups?: string;
}

export class GroupRoleDto {
  @ApiProperty({ example: 'instatunnel-admins' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  @Matches(NO_CONTROL_CHARS, { message: 'group must not contain control characters' })
  group!: string;

  @ApiProperty({ enum: SSO_ROLES })
  @IsIn(SSO_ROLES)
  role!: Role;
}

export class PutSamlConnectionDto {
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiProperty({ example: 'http://www.okta.com/exk1abcd', maxLength: 1024 })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  @Matches(NO_CONTROL_CHARS, { message: 'idpEntityId must not contain control characters' })
  idpEntityId!: string;

  @ApiProperty({ example: 'https://corp.okta.com/app/instatunnel/exk1abcd/sso/saml' })
  @IsString()
  @MaxLength(2048)
  idpSsoUrl!: string;

  @ApiProperty({
    type: [String],
    description: 'PEM (or bare base64) signing certificates; two during a rotation',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @IsString({ each: true })
  @MaxLength(16384, { each: true })
  idpCertificates!: string[];

  @ApiPropertyOptional({ enum: SIGNATURE_MODES, default: 'either' })
  @IsOptional()
  @IsIn(SIGNATURE_MODES)
  signatureMode?: SignatureMode;

  @ApiPropertyOptional({ type: AttributeMappingDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AttributeMappingDto)
  attributeMapping?: AttributeMappingDto;

  @ApiPropertyOptional({ type: [GroupRoleDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => GroupRoleDto)
  groupRoles?: GroupRoleDto[];

  @ApiPropertyOptional({
    enum: SSO_ROLES,
    nullable: true,
    default: 'member',
    description: 'Role when no group matches; null refuses such users',
  })
  @IsOptional()
  @ValidateIf((o: PutSamlConnectionDto) => o.defaultRole !== null)
  @IsIn(SSO_ROLES)
  defaultRole?: Role | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  jitProvisioning?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  ssoRequired?: boolean;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  allowIdpInitiated?: boolean;

  @ApiPropertyOptional({
    type: [String],
    example: ['corp.example'],
    description: 'Email domains allowed to log in; each must be verified by the org',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MaxLength(253, { each: true })
  allowedDomains?: string[];
}

export class CertificateDto {
  @ApiProperty() pem!: string;
  @ApiProperty({ example: 'AB:CD:…' }) sha256!: string;
  @ApiProperty() subject!: string;
  @ApiProperty() notBefore!: string;
  @ApiProperty() notAfter!: string;
}

export class ServiceProviderDto {
  @ApiProperty({ description: 'SP entity id (Audience) to enter at the IdP' }) entityId!: string;
  @ApiProperty({ description: 'ACS URL (Recipient / Destination) to enter at the IdP' })
  acsUrl!: string;
  @ApiProperty() metadataUrl!: string;
  @ApiProperty({ description: 'Where users start an SP-initiated login' }) loginUrl!: string;
}

export class SamlConnectionDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty() idpEntityId!: string;
  @ApiProperty() idpSsoUrl!: string;
  @ApiProperty({ type: [CertificateDto] }) idpCertificates!: CertificateDto[];
  @ApiProperty({ enum: SIGNATURE_MODES }) signatureMode!: SignatureMode;
  @ApiProperty({ type: AttributeMappingDto }) attributeMapping!: AttributeMappingDto;
  @ApiProperty({ type: [GroupRoleDto] }) groupRoles!: GroupRoleDto[];
  @ApiProperty({ enum: SSO_ROLES, nullable: true }) defaultRole!: Role | null;
  @ApiProperty() jitProvisioning!: boolean;
  @ApiProperty() ssoRequired!: boolean;
  @ApiProperty() allowIdpInitiated!: boolean;
  @ApiProperty({ type: [String] }) allowedDomains!: string[];
  @ApiProperty({ nullable: true }) lastLoginAt!: string | null;
  @ApiProperty({ type: ServiceProviderDto }) serviceProvider!: ServiceProviderDto;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
}

export class AddDomainDto {
  @ApiProperty({ example: 'corp.example' })
  @IsString()
  @MinLength(1)
  @MaxLength(253)
  domain!: string;
}

export class DomainDto {
  @ApiProperty() domain!: string;
  @ApiProperty() verified!: boolean;
  @ApiProperty({ nullable: true }) verifiedAt!: string | null;
  @ApiProperty({ description: 'TXT record name to create' }) recordName!: string;
  @ApiProperty({ description: 'TXT record value to create' }) recordValue!: string;
  @ApiProperty({ nullable: true }) lastCheckedAt!: string | null;
  @ApiProperty() createdAt!: string;
}
