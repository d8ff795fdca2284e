import { MigrationInterface, QueryRunner } from 'typeorm';

export class PolicyEvents1733370000000 implements MigrationInterface {
  name = 'PolicyEvents1733370000000';

  public async up(q: QueryRunner): Promise<void> {
    // One row per (tunnel, rule, action, client ip, minute): a flood becomes a counter, not a row per request.
    await q.query(`
      CREATE TABLE traffic_policy_events (
        id bigserial PRIMARY KEY,
        org_id uuid NOT NULL,
        tunnel varchar(63) NOT NULL,
        rule varchar(100) NOT NULL,
        action varchar(32) NOT NULL,
        reason varchar(100) NOT NULL,
        client_ip varchar(64) NOT NULL,
        method varchar(16) NOT NULL,
        path varchar(512) NOT NULL,
        status integer NOT NULL,
        minute timestamptz NOT NULL,
        count integer NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE UNIQUE INDEX traffic_policy_events_bucket_key ON traffic_policy_events (org_id, tunnel, rule, action, client_ip, minute)`,
    );
    await q.query(
      `CREATE INDEX traffic_policy_events_org_idx ON traffic_policy_events (org_id, id)`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE traffic_policy_events`);
  }
}
