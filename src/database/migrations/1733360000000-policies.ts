import { MigrationInterface, QueryRunner } from 'typeorm';

export class Policies1733360000000 implements MigrationInterface {
  name = 'Policies1733360000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE policies (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        reserved_name_id uuid REFERENCES reserved_names(id) ON DELETE CASCADE,
        current_version integer NOT NULL,
        created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One policy for the org itself and at most one per reserved name.
    await q.query(
      `CREATE UNIQUE INDEX policies_target_key ON policies (org_id, coalesce(reserved_name_id, '00000000-0000-0000-0000-000000000000'::uuid))`,
    );
    await q.query(`
      CREATE TABLE policy_versions (
        policy_id uuid NOT NULL REFERENCES policies(id) ON DELETE CASCADE,
        version integer NOT NULL,
        document jsonb NOT NULL,
        created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (policy_id, version)
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE policy_versions`);
    await q.query(`DROP TABLE policies`);
  }
}
