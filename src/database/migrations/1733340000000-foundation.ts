import { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1733340000000 implements MigrationInterface {
  name = 'Foundation1733340000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        password_hash text,
        email_verified_at timestamptz,
        is_platform_admin boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_lowercase CHECK (email = lower(email))
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    await q.query(`CREATE INDEX users_created_at_id_idx ON users (created_at, id)`);

    await q.query(`
      CREATE TABLE email_verification_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX email_verification_tokens_hash_key ON email_verification_tokens (token_hash)`,
    );
    await q.query(
      `CREATE INDEX email_verification_tokens_user_idx ON email_verification_tokens (user_id)`,
    );

    await q.query(`
      CREATE TABLE orgs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        slug varchar(48) NOT NULL,
        created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug)`);

    await q.query(`
      CREATE TABLE memberships (
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'auditor')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, user_id)
      )`);
    await q.query(`CREATE INDEX memberships_user_idx ON memberships (user_id)`);

    await q.query(`
      CREATE TABLE invitations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        email varchar(254) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'auditor')),
        token_hash char(64) NOT NULL,
        invited_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        accepted_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX invitations_token_hash_key ON invitations (token_hash)`);
    await q.query(`CREATE INDEX invitations_org_idx ON invitations (org_id, created_at)`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        public_id char(12) NOT NULL,
        secret_hash char(64) NOT NULL,
        name varchar(100) NOT NULL,
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        created_by_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        scopes text[] NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        last_used_at timestamptz,
        last_used_ip varchar(45),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX api_keys_public_id_key ON api_keys (public_id)`);
    await q.query(`CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at)`);
    await q.query(`CREATE INDEX api_keys_creator_idx ON api_keys (created_by_user_id, created_at)`);

    // Append-only, hash-chained per org (NULL org = platform chain); keyset pagination on (org_id, id).
    await q.query(`
      CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        org_id uuid,
        actor_type varchar(16) NOT NULL CHECK (actor_type IN ('user', 'api_key', 'admin', 'system', 'anonymous')),
        actor_id varchar(64),
        action varchar(64) NOT NULL,
        target_type varchar(32),
        target_id varchar(64),
        ip varchar(45),
        user_agent varchar(512),
        request_id varchar(128),
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        prev_hash char(64),
        hash char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_events_org_id_idx ON audit_events (org_id, id)`);
    await q.query(`CREATE INDEX audit_events_action_idx ON audit_events (org_id, action, id)`);
    await q.query(`CREATE INDEX audit_events_created_at_idx ON audit_events (created_at)`);
    await q.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP FUNCTION audit_events_append_only`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE invitations`);
    await q.query(`DROP TABLE memberships`);
    await q.query(`DROP TABLE orgs`);
    await q.query(`DROP TABLE email_verification_tokens`);
    await q.query(`DROP TABLE users`);
  }
}
