import { MigrationInterface, QueryRunner } from 'typeorm';

export class ReservedNames1733350000000 implements MigrationInterface {
  name = 'ReservedNames1733350000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reserved_names (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
        name varchar(63) NOT NULL,
        created_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX reserved_names_name_key ON reserved_names (name)`);
    await q.query(`CREATE INDEX reserved_names_org_idx ON reserved_names (org_id, created_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reserved_names`);
  }
}
