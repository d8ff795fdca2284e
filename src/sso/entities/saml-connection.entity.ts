import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../../identity/roles';

/** Which signature the ACS demands: one on the assertion, on the whole response, either, or both. */
export const SIGNATURE_MODES = ['either', 'assertion', 'response', 'both'] as const;
export type SignatureMode = (typeof SIGNATURE_MODES)[number];

export interface AttributeMapping {
  /** Attribute holding the email address; absent = the NameID. */
  email?: string;
  name?: string;
  groups?: string;
}

export interface GroupRole {
  group: string;
  role: Role;
}

@Entity({ name: 'saml_connections' })
export class SamlConnection {
  @PrimaryColumn({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ name: 'idp_entity_id', type: 'varchar', length: 1024 })
  idpEntityId!: string;

  @Column({ name: 'idp_sso_url', type: 'varchar', length: 2048 })
  idpSsoUrl!: string;

  /** PEM certificates; a signature by any of them counts (rotation). */
  @Column({ name: 'idp_certificates', type: 'text', array: true })
  idpCertificates!: string[];

  @Column({ name: 'signature_mode', type: 'varchar', length: 16, default: 'either' })
  signatureMode!: SignatureMode;

  @Column({ name: 'attribute_mapping', type: 'jsonb', default: {} })
  attributeMapping!: AttributeMapping;

  @Column({ name: 'group_roles', type: 'jsonb', default: [] })
  groupRoles!: GroupRole[];

  /** Role for members no group mapping matches; null = such users are refused. */
  @Column({ name: 'default_role', type: 'varchar', length: 16, nullable: true })
  defaultRole!: Role | null;

  @Column({ name: 'jit_provisioning', type: 'boolean', default: true })
  jitProvisioning!: boolean;

  @Column({ name: 'sso_required', type: 'boolean', default: false })
  ssoRequired!: boolean;

  @Column({ name: 'allow_idp_initiated', type: 'boolean', default: false })
  allowIdpInitiated!: boolean;

  @Column({ name: 'allowed_domains', type: 'text', array: true, default: [] })
  allowedDomains!: string[];

  /** Bumped whenever what the org trusts changes; sessions from older generations end. */
  @Column({ type: 'integer', default: 1 })
  generation!: number;

  @Column({ name: 'last_login_at', type: 'timestamptz', nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
