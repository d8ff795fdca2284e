import { MigrationInterface, QueryRunner } from 'typeorm';

export class SamlSso1733380000000 implements MigrationInterface {
  name = 'SamlSso1733380000000';

  public async up(q: QueryRunner): Promise<void> {
    // A session counts only while its user's epoch is the one it was created with (bumped when SSO
    // takes over an unverified account: every session made before, even a racing one, ends).
    await q.query(`ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0`);
    // Display name as the IdP last asserted it (attribute mapping "name").
    await q.query(`ALTER TABLE users ADD COLUMN display_name varchar(200)`);
    await q.query(`
      CREATE TABLE saml_connections (
        org_id uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
        enabled boolean NOT NULL DEFAULT true,
        idp_entity_id varchar(1024) NOT NULL,
        idp_sso_url varchar(2048) NOT NULL,
        idp_certificates text[] NOT NULL,
        signature_mode varchar(16) NOT NULL DEFAULT 'either',
        attribute_mapping jsonb NOT NULL DEFAULT '{}'::jsonb,
        group_roles jsonb NOT NULL DEFAULT '[]'::jsonb,
        default_role varchar(16),
        jit_provisioning boolean NOT NULL DEFAULT true,
        sso_required boolean NOT NULL DEFAULT false,
        allow_idp_initiated boolean NOT NULL DEFAULT false,
        allowed_domains text[] NOT NULL DEFAULT '{}',
        generation integer NOT NULL DEFAULT 1,
        last_login_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE org_domains (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        domain varchar(253) NOT NULL,
        verification_token varchar(64) NOT NULL,
        verified_at timestamptz,
        last_checked_at timestamptz,
        created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX org_domains_org_domain_key ON org_domains (org_id, domain)`);
    // A domain can be verified by one org only: its users' identities belong to that org's IdP.
    await q.query(
      `CREATE UNIQUE INDEX org_domains_verified_key ON org_domains (domain) WHERE verified_at IS NOT NULL`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE org_domains`);
    await q.query(`DROP TABLE saml_connections`);
    await q.query(`ALTER TABLE users DROP COLUMN display_name`);
    await q.query(`ALTER TABLE users DROP COLUMN session_epoch`);
  }
}
