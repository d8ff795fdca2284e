import { AuditService, auditHash } from '../../src/audit/audit.service';
import { AuditEvent } from '../../src/audit/entities/audit-event.entity';
import { expectProblem, Harness, uniqueSlug } from '../helpers/harness';

describe('audit: recorded in the same transaction as the change, hash-chained, append-only', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('leaves neither the org nor its event when the audit write fails inside the transaction', async () => {
    const { agent } = await h.verifiedUser();
    const audit = h.app.get(AuditService);
    const spy = jest.spyOn(audit, 'record').mockRejectedValueOnce(new Error('disk on fire'));
    const slug = uniqueSlug('atomic');
    const res = await agent.post('/v1/orgs').send({ name: 'Atomic', slug }).expect(500);
    expectProblem(res.body, 'internal-error');
    expect(JSON.stringify(res.body)).not.toContain('disk on fire');
    spy.mockRestore();
    const orgs = await h.db.query('SELECT id FROM orgs WHERE slug = $1', [slug]);
    expect(orgs).toHaveLength(0);
    const members = await h.db.query(
      'SELECT 1 FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE o.slug = $1',
      [slug],
    );
    expect(members).toHaveLength(0);
    // The same request succeeds once the audit store works again.
    await agent.post('/v1/orgs').send({ name: 'Atomic', slug }).expect(201);
  });

  it('leaves neither the key nor its event when the change fails after the audit write', async () => {
    const { agent } = await h.verifiedUser();
    const org = await h.org(agent);
    const audit = h.app.get(AuditService);
    const real = audit.record.bind(audit);
    const spy = jest.spyOn(audit, 'record').mockImplementationOnce(async (em, input) => {
      await real(em, input);
      throw new Error('crash right after the audit insert');
    });
    await agent
      .post('/v1/api-keys')
      .send({ name: 'doomed', orgId: org.id, scopes: ['org:read'] })
      .expect(500);
    spy.mockRestore();
    expect(
      await h.db.query(`SELECT 1 FROM api_keys WHERE name = 'doomed' AND org_id = $1`, [org.id]),
    ).toHaveLength(0);
    expect(await h.auditActions(org.id)).toEqual(['org.created']);
  });

  it('chains every org event to the previous one; recomputing the chain finds no gap', async () => {
    const { agent } = await h.verifiedUser();
    const org = await h.org(agent);
    for (let i = 0; i < 3; i++) await h.apiKey(agent, org.id, ['org:read']);
    const events = await h.db
      .getRepository(AuditEvent)
      .find({ where: { orgId: org.id }, order: { id: 'ASC' } });
    expect(events).toHaveLength(4);
    let prev: string | null = null;
    for (const e of events) {
      expect(e.prevHash).toBe(prev);
      expect(auditHash(prev, e)).toBe(e.hash);
      prev = e.hash;
    }
    // Tampering with a stored field breaks the chain at that event.
    const tampered = { ...events[1], metadata: { name: 'other' } };
    expect(auditHash(events[0].hash, tampered)).not.toBe(events[1].hash);
  });

  it('keeps the chain linear under concurrent writes to one org', async () => {
    const { agent } = await h.verifiedUser();
    const org = await h.org(agent);
    await Promise.all(Array.from({ length: 8 }, () => h.apiKey(agent, org.id, ['org:read'])));
    const rows: { prev_hash: string | null; hash: string }[] = await h.db.query(
      'SELECT prev_hash, hash FROM audit_events WHERE org_id = $1 ORDER BY id',
      [org.id],
    );
    expect(rows).toHaveLength(9);
    rows.forEach((r, i) => expect(r.prev_hash).toBe(i === 0 ? null : rows[i - 1].hash));
  });

  it('refuses UPDATE and DELETE on audit events at the database', async () => {
    const [row] = await h.db.query('SELECT id FROM audit_events ORDER BY id LIMIT 1');
    await expect(
      h.db.query(`UPDATE audit_events SET action = 'x' WHERE id = $1`, [row.id]),
    ).rejects.toThrow(/append-only/);
    await expect(h.db.query('DELETE FROM audit_events WHERE id = $1', [row.id])).rejects.toThrow(
      /append-only/,
    );
  });
});
