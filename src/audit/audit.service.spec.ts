import { EntityManager } from 'typeorm';
import { AuditService, auditHash, canonicalJson } from './audit.service';
import { AuditEvent } from './entities/audit-event.entity';

const base = (): Omit<AuditEvent, 'id' | 'hash' | 'prevHash'> => ({
  orgId: '7b7b3c8e-6b4a-4c43-9a36-0e1c2f9d8a11',
  actorType: 'user',
  actorId: 'u1',
  action: 'api_key.created',
  targetType: 'api_key',
  targetId: 'k1',
  ip: '203.0.113.1',
  userAgent: 'curl',
  requestId: 'r1',
  metadata: { b: 1, a: [1, { d: 2, c: 3 }] },
  createdAt: new Date('2026-12-04T10:00:00.123Z'),
});

describe('audit hashing', () => {
  it('writes JSON with sorted keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"y":null,"z":1}]},"b":1}',
    );
  });

  it('does not depend on key order but on every field and the previous hash', () => {
    const e = base();
    const reordered = { ...e, metadata: { a: [1, { c: 3, d: 2 }], b: 1 } };
    expect(auditHash(null, e)).toBe(auditHash(null, reordered));
    for (const change of [
      { action: 'api_key.revoked' },
      { ip: '203.0.113.2' },
      { actorId: 'u2' },
      { metadata: { b: 2, a: [1, { d: 2, c: 3 }] } },
      { createdAt: new Date('2026-12-04T10:00:00.124Z') },
    ]) {
      expect(auditHash(null, { ...e, ...change })).not.toBe(auditHash(null, e));
    }
    expect(auditHash('a'.repeat(64), e)).not.toBe(auditHash(null, e));
  });

  it('refuses to record outside a transaction', async () => {
    const em = { queryRunner: undefined } as unknown as EntityManager;
    await expect(new AuditService().record(em, { action: 'x' })).rejects.toThrow(
      /inside a transaction/,
    );
  });
});
