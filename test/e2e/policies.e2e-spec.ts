import { expectProblem, Harness } from '../helpers/harness';

const doc = {
  rules: [
    {
      name: 'block-bad-net',
      match: { cidrs: ['192.0.2.0/24', '2001:db8::/32'] },
      actions: [{ type: 'deny', status: 403 }],
    },
    {
      name: 'admin-closed',
      match: { paths: ['/admin/**'] },
      actions: [{ type: 'custom-response', status: 404, body: 'nope' }],
    },
  ],
};

describe('policies API: versions, YAML, validation, simulation', () => {
  let h: Harness;
  let owner: Awaited<ReturnType<Harness['verifiedUser']>>;
  let orgId: string;
  beforeAll(async () => {
    h = await Harness.start();
    owner = await h.verifiedUser();
    orgId = (await h.org(owner.agent)).id;
  });
  afterAll(async () => {
    await h.stop();
  });

  it('creates the org default from JSON, refuses a second one (409), versions every change with an audited rule diff', async () => {
    const created = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .send({ name: 'default', document: doc })
      .expect(201);
    expect(created.body).toMatchObject({
      name: 'default',
      version: 1,
      reservedNameId: null,
      document: doc,
    });
    const again = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .send({ name: 'second', document: doc })
      .expect(409);
    expectProblem(again.body, 'policy-exists');

    const next = {
      rules: [
        doc.rules[0],
        { name: 'new-rule', actions: [{ type: 'add-headers', request: { 'x-a': '1' } }] },
      ],
    };
    const updated = await owner.agent
      .put(`/v1/orgs/${orgId}/policies/${created.body.id}`)
      .send({ document: next })
      .expect(200);
    expect(updated.body.version).toBe(2);
    const versions = (
      await owner.agent.get(`/v1/orgs/${orgId}/policies/${created.body.id}/versions`).expect(200)
    ).body;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    const v1 = await owner.agent
      .get(`/v1/orgs/${orgId}/policies/${created.body.id}/versions/1`)
      .expect(200);
    expect(v1.body.document).toEqual(doc);
    await owner.agent.get(`/v1/orgs/${orgId}/policies/${created.body.id}/versions/9`).expect(404);
    const [event] = await h.db.query(
      `SELECT metadata FROM audit_events WHERE org_id = $1 AND action = 'policy.updated'`,
      [orgId],
    );
    expect(event.metadata).toMatchObject({
      from: 1,
      to: 2,
      diff: { added: ['new-rule'], removed: ['admin-closed'], changed: [] },
    });

    await owner.agent
      .put(`/v1/orgs/${orgId}/policies/${created.body.id}`)
      .send({ document: doc })
      .expect(200);
    const sim = await owner.agent
      .post(`/v1/orgs/${orgId}/policies/${created.body.id}/simulate`)
      .send({ request: { method: 'GET', path: '/admin/users?x=1', clientIp: '::ffff:192.0.2.44' } })
      .expect(200);
    expect(sim.body).toMatchObject({
      outcome: 'respond',
      status: 403,
      matchedRules: ['block-bad-net'],
      blockedBy: { rule: 'block-bad-net', action: 'deny' },
      version: 3,
    });
    const passes = await owner.agent
      .post(`/v1/orgs/${orgId}/policies/${created.body.id}/simulate`)
      .send({ request: { method: 'GET', path: '/admin/users', clientIp: '203.0.113.1' } })
      .expect(200);
    expect(passes.body).toMatchObject({
      outcome: 'respond',
      status: 404,
      body: 'nope',
      actionsRun: ['admin-closed:custom-response'],
    });
  });

  it('accepts YAML, and refuses alias bombs and deep nesting with 422 instead of crashing', async () => {
    const reserved = await owner.agent
      .post(`/v1/orgs/${orgId}/reserved-names`)
      .send({ name: `pol-${Date.now().toString(36)}` })
      .expect(201);
    const yaml = `name: for-reserved\nreservedNameId: ${reserved.body.id}\ndocument:\n  rules:\n    - name: ua\n      match:\n        headers:\n          - name: user-agent\n            regex: "^curl/"\n      actions:\n        - type: deny\n          status: 403\n`;
    const res = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .set('Content-Type', 'application/yaml')
      .send(yaml)
      .expect(201);
    expect(res.body).toMatchObject({
      name: 'for-reserved',
      reservedNameId: reserved.body.id,
      version: 1,
    });

    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghij'.split('').map(
        (c, i) =>
          `${c}: &${c} [${Array(9)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(',')}]`,
      ),
    ].join('\n');
    const boom = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .set('Content-Type', 'application/yaml')
      .send(bomb)
      .expect(422);
    expectProblem(boom.body, 'invalid-policy');
    const deep = `${'['.repeat(100)}1${']'.repeat(100)}`;
    const nested = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .set('Content-Type', 'application/yaml')
      .send(`document: ${deep}\nname: x`)
      .expect(422);
    expectProblem(nested.body, 'invalid-policy');
    const broken = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .set('Content-Type', 'application/yaml')
      .send('name: [unclosed')
      .expect(422);
    expectProblem(broken.body, 'invalid-policy');
  });

  it('answers 422 listing every error of a bad document with its JSON path, and writes nothing', async () => {
    const other = await h.verifiedUser();
    const otherOrg = (await h.org(other.agent)).id;
    const bad = {
      name: 'broken',
      document: {
        rules: [
          { name: 'r1', match: { cidrs: ['300.1.1.1/8'] }, actions: [{ type: 'teleport' }] },
          {
            name: 'r2',
            match: { headers: [{ name: 'x', regex: '(a+)+' }] },
            actions: [{ type: 'rate-limit', capacity: 0, window: '1m', key: 'ip' }],
          },
        ],
      },
    };
    const res = await other.agent.post(`/v1/orgs/${otherOrg}/policies`).send(bad).expect(422);
    expectProblem(res.body, 'invalid-policy');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([
      '$.rules[0].match.cidrs[0]',
      '$.rules[0].actions[0].type',
      '$.rules[1].match.headers[0].regex',
      '$.rules[1].actions[0].capacity',
    ]);
    expect((await other.agent.get(`/v1/orgs/${otherOrg}/policies`).expect(200)).body).toEqual([]);
    for (const body of [
      { document: doc },
      { name: 'x' },
      { name: 'x', document: 'rules' },
      { name: 'x', document: doc, extra: 1 },
    ]) {
      const r = await other.agent.post(`/v1/orgs/${otherOrg}/policies`).send(body).expect(400);
      expectProblem(r.body, 'validation-error');
    }
  });

  it('keeps orgs apart and enforces scopes', async () => {
    const stranger = await h.verifiedUser();
    await stranger.agent.get(`/v1/orgs/${orgId}/policies`).expect(404);
    const member = await h.verifiedUser();
    await h.addMember(owner.agent, orgId, member, 'member');
    await member.agent.get(`/v1/orgs/${orgId}/policies`).expect(200);
    const denied = await member.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .send({ name: 'x', document: doc })
      .expect(403);
    expectProblem(denied.body, 'insufficient-scope');
    const foreignReserved = await owner.agent
      .post(`/v1/orgs/${orgId}/policies`)
      .send({ name: 'x', reservedNameId: '00000000-0000-4000-8000-000000000000', document: doc })
      .expect(404);
    expectProblem(foreignReserved.body, 'not-found');
  });
});
