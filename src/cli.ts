import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { AuditService } from './audit/audit.service';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { loadDotEnv } from './config/load-env';
import { dataSourceOptions, runMigrations } from './database/database-options';
import { generateApiKey } from './identity/api-key-token';
import { ApiKey } from './identity/entities/api-key.entity';
import { User } from './identity/entities/user.entity';
import { PasswordHasher } from './identity/password-hasher';
import { SCOPES } from './identity/roles';
import { normalizeEmail } from './identity/users.service';
import { Membership } from './orgs/entities/membership.entity';
import { Org } from './orgs/entities/org.entity';

const USAGE = `Usage: instatunnel-ops <command> [options]

Commands:
  migrate                                   apply pending database migrations
  create-admin --email E [--password P]     create (or promote) a verified platform admin;
                                            the password may also come from INSTATUNNEL_ADMIN_PASSWORD
  demo-seed --email E --password P --org SLUG
                                            create a verified user, an org it owns and an API key
                                            with every scope; prints JSON (used by quickstart)
`;

class UsageError extends Error {}

async function withDb<T>(config: AppConfig, fn: (db: DataSource) => Promise<T>): Promise<T> {
  const db = new DataSource(dataSourceOptions(config.DATABASE_URL));
  await db.initialize();
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function upsertVerifiedUser(
  db: DataSource,
  email: string,
  password: string,
  admin: boolean,
): Promise<User> {
  if (password.length < 12) throw new UsageError('password must be at least 12 characters');
  const passwordHash = await new PasswordHasher().hash(password);
  const audit = new AuditService();
  return db.transaction(async (em) => {
    let user = await em.findOneBy(User, { email });
    const created = !user;
    if (!user) {
      user = em.create(User, {
        email,
        passwordHash,
        emailVerifiedAt: new Date(),
        isPlatformAdmin: admin,
      });
    } else {
      user.passwordHash = passwordHash;
      user.emailVerifiedAt ??= new Date();
      user.isPlatformAdmin = user.isPlatformAdmin || admin;
    }
    user = await em.save(User, user);
    await audit.record(em, {
      action: admin
        ? 'admin.granted'
        : created
          ? 'user.created_by_operator'
          : 'user.updated_by_operator',
      actorType: 'system',
      actorId: 'cli',
      targetType: 'user',
      targetId: user.id,
      metadata: { email },
    });
    return user;
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  loadDotEnv();
  const config = loadConfig();
  const { values } = parseArgs({
    args: rest,
    options: { email: { type: 'string' }, password: { type: 'string' }, org: { type: 'string' } },
    strict: true,
  });

  switch (command) {
    case 'migrate': {
      const ran = await runMigrations(config.DATABASE_URL);
      console.log(ran.length ? `applied: ${ran.join(', ')}` : 'database is up to date');
      return;
    }
    case 'create-admin': {
      if (!values.email) throw new UsageError('create-admin needs --email');
      const password = values.password ?? process.env.INSTATUNNEL_ADMIN_PASSWORD;
      if (!password)
        throw new UsageError('create-admin needs --password or INSTATUNNEL_ADMIN_PASSWORD');
      const user = await withDb(config, (db) =>
        upsertVerifiedUser(db, normalizeEmail(values.email!), password, true),
      );
      console.log(`platform admin ready: ${user.email} (${user.id})`);
      return;
    }
    case 'demo-seed': {
      if (!values.email || !values.password || !values.org) {
        throw new UsageError('demo-seed needs --email, --password and --org');
      }
      const out = await withDb(config, async (db) => {
        const user = await upsertVerifiedUser(
          db,
          normalizeEmail(values.email!),
          values.password!,
          false,
        );
        const audit = new AuditService();
        return db.transaction(async (em) => {
          let org = await em.findOneBy(Org, { slug: values.org! });
          if (!org) {
            org = await em.save(
              em.create(Org, { name: values.org!, slug: values.org!, createdByUserId: user.id }),
            );
            await audit.record(em, {
              orgId: org.id,
              action: 'org.created',
              actorType: 'system',
              actorId: 'cli',
              targetType: 'org',
              targetId: org.id,
            });
          }
          await em.upsert(Membership, { orgId: org.id, userId: user.id, role: 'owner' }, [
            'orgId',
            'userId',
          ]);
          const { token, publicId, secretHash } = generateApiKey();
          const key = await em.save(
            em.create(ApiKey, {
              publicId,
              secretHash,
              name: 'quickstart',
              orgId: org.id,
              createdByUserId: user.id,
              scopes: [...SCOPES],
              expiresAt: null,
              revokedAt: null,
              lastUsedAt: null,
              lastUsedIp: null,
            }),
          );
          await audit.record(em, {
            orgId: org.id,
            action: 'api_key.created',
            actorType: 'system',
            actorId: 'cli',
            targetType: 'api_key',
            targetId: key.id,
            metadata: { name: key.name, scopes: key.scopes },
          });
          return {
            userId: user.id,
            email: user.email,
            orgId: org.id,
            orgSlug: org.slug,
            apiKeyId: key.id,
            apiKey: token,
          };
        });
      });
      console.log(JSON.stringify(out));
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
    else if (err instanceof ConfigError) console.error(err.message);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
