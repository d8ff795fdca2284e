import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { WorkerModule } from '../../src/worker.module';
import { SmtpSink, tokenFrom } from './smtp-sink';

export const PASSWORD = 'correct horse battery staple';

let ipCounter = randomBytes(1)[0];
/** A distinct client address per caller (sent as X-Forwarded-For from loopback, a trusted proxy). */
export function nextIp(): string {
  ipCounter = (ipCounter + 1) % 65536;
  return `198.51.${ipCounter >> 8}.${ipCounter & 255}`;
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.com`;
}

export function uniqueSlug(tag = 'org'): string {
  return `${tag}-${randomBytes(4).toString('hex')}`;
}

/**
 * The real AppModule (HTTP stack configured exactly as main.ts does) and the real WorkerModule,
 * in-process, against the run's Postgres database, Redis prefix and a real SMTP server.
 */
export class Harness {
  app!: NestExpressApplication;
  worker?: INestApplicationContext;
  /** Absent when the test brings its own SMTP server (smtpPort). */
  smtp!: SmtpSink;
  db!: DataSource;
  private savedEnv: NodeJS.ProcessEnv = {};

  static async start(
    options: { worker?: boolean; env?: Record<string, string>; smtpPort?: number } = {},
  ): Promise<Harness> {
    const h = new Harness();
    h.savedEnv = { ...process.env };
    if (options.smtpPort === undefined) {
      h.smtp = await new SmtpSink().start();
      process.env.SMTP_URL = h.smtp.url;
    } else {
      process.env.SMTP_URL = `smtp://127.0.0.1:${options.smtpPort}`;
    }
    // Own Redis namespace per harness: suites running in parallel must not take each other's mail jobs.
    const runPrefix = (process.env.INSTATUNNEL_RUN_PREFIX ??=
      process.env.REDIS_PREFIX ?? 'it-test:');
    process.env.REDIS_PREFIX = `${runPrefix}${randomBytes(3).toString('hex')}:`;
    for (const [k, v] of Object.entries(options.env ?? {})) process.env[k] = v;
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      h.app = moduleRef.createNestApplication<NestExpressApplication>({
        bodyParser: false,
        logger: false,
      });
      configureApp(h.app);
      await h.app.init();
      if (options.worker !== false) {
        const workerRef = await Test.createTestingModule({ imports: [WorkerModule] }).compile();
        workerRef.useLogger(false);
        h.worker = await workerRef.init();
      }
    } catch (err) {
      // A half-started app still holds Redis and BullMQ connections: close them so jest can exit.
      await h.stop().catch(() => undefined);
      throw err;
    }
    h.db = h.app.get(DataSource);
    return h;
  }

  http(): TestAgent {
    return request(this.app.getHttpServer());
  }

  /** A cookie-keeping client with its own client address. */
  agent(): TestAgent {
    return request.agent(this.app.getHttpServer()).set('X-Forwarded-For', nextIp());
  }

  async stop(): Promise<void> {
    await this.worker?.close();
    await this.app?.close();
    await this.smtp?.stop();
    process.env = this.savedEnv;
  }

  /** signup → mail → verify → login; returns the logged-in agent. */
  async verifiedUser(
    email = uniqueEmail(),
  ): Promise<{ agent: TestAgent; email: string; userId: string }> {
    const agent = this.agent();
    await agent.post('/v1/auth/signup').send({ email, password: PASSWORD }).expect(201);
    const mail = await this.smtp.waitFor(email, (m) => m.subject.includes('Verify'));
    await agent
      .post('/v1/auth/verify-email')
      .send({ token: tokenFrom(mail) })
      .expect(200);
    const me = await agent.post('/v1/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { agent, email, userId: me.body.id as string };
  }

  async org(agent: TestAgent, slug = uniqueSlug()): Promise<{ id: string; slug: string }> {
    const res = await agent
      .post('/v1/orgs')
      .send({ name: `Org ${slug}`, slug })
      .expect(201);
    return res.body as { id: string; slug: string };
  }

  async apiKey(
    agent: TestAgent,
    orgId: string,
    scopes: string[] = ['org:read', 'tunnels:connect'],
  ): Promise<{ id: string; key: string }> {
    const res = await agent
      .post('/v1/api-keys')
      .send({ name: 'test key', orgId, scopes })
      .expect(201);
    return res.body as { id: string; key: string };
  }

  /** Adds an existing verified user to an org with a role, through the real invitation flow. */
  async addMember(
    owner: TestAgent,
    orgId: string,
    member: { agent: TestAgent; email: string },
    role: string,
  ): Promise<void> {
    await owner
      .post(`/v1/orgs/${orgId}/invitations`)
      .send({ email: member.email, role })
      .expect(201);
    const mail = await this.smtp.waitFor(member.email, (m) => m.subject.includes('invited'));
    await member.agent
      .post('/v1/invitations/accept')
      .send({ token: tokenFrom(mail) })
      .expect(201);
  }

  async auditActions(orgId: string | null): Promise<string[]> {
    const rows: { action: string }[] = await this.db.query(
      'SELECT action FROM audit_events WHERE org_id IS NOT DISTINCT FROM $1 ORDER BY id',
      [orgId],
    );
    return rows.map((r) => r.action);
  }
}

export function expectProblem(body: unknown, kind: string): void {
  expect(body).toMatchObject({ type: `https://instatunnel.dev/problems/${kind}` });
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/);
}
