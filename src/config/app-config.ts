import 'reflect-metadata';
import { readSpSigningKey } from './saml-sp-key';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};

/**
 * Every setting the processes read, validated once at boot. `.env.example` and the README
 * table list the same keys with the same defaults.
 */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/instatunnel';

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, { message: 'must be 1-64 characters of A-Z a-z 0-9 : _ -' })
  REDIS_PREFIX = 'it:';

  @Matches(/^smtps?:\/\/.+/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL = 'smtp://127.0.0.1:1025';

  @IsString()
  @MinLength(3)
  MAIL_FROM = 'InstaTunnel <no-reply@instatunnel.localhost>';

  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  PUBLIC_URL = 'http://localhost:3000';

  @Transform(toBool)
  @IsBoolean()
  COOKIE_SECURE = true;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  SESSION_IDLE_TTL_SECONDS = 12 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  SESSION_ABSOLUTE_TTL_SECONDS = 7 * 24 * 3600;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'must look like 100kb or 1mb' })
  BODY_LIMIT = '1mb';

  @IsString()
  TRUSTED_PROXIES = 'loopback';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES_PER_ACCOUNT = 5;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES_PER_IP = 30;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  EMAIL_TOKEN_TTL_SECONDS = 24 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  INVITATION_TTL_SECONDS = 7 * 24 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  INGRESS_PORT = 8080;

  @IsString()
  INGRESS_HOST = '0.0.0.0';

  @Matches(
    /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
    {
      message: 'must be a lowercase DNS name such as tunnels.example.com',
    },
  )
  TUNNEL_DOMAIN = 'localhost';

  @IsIn(['http', 'https'])
  TUNNEL_PUBLIC_SCHEME: 'http' | 'https' = 'http';

  /** Port shown in public URLs; defaults to INGRESS_PORT, and is left out when 80/443 matches the scheme. */
  @Transform(toInt)
  @IsInt()
  @Min(-1)
  @Max(65535)
  TUNNEL_PUBLIC_PORT = -1;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  TUNNELS_PER_ORG = 25;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  INGRESS_RESPONSE_TIMEOUT_SECONDS = 120;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  NAME_HOLD_SECONDS = 15 * 60;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  AGENT_PING_INTERVAL_MS = 10_000;

  /** Largest body a verify-webhook rule buffers; larger requests get 413. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(64 * 1024 * 1024)
  WEBHOOK_BODY_LIMIT_BYTES = 1024 * 1024;

  /** Bearer token for GET /metrics; the endpoint answers 404 while it is unset. */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  METRICS_TOKEN?: string = undefined;

  /** Clock skew tolerated on SAML NotBefore / NotOnOrAfter. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(300)
  SAML_CLOCK_SKEW_SECONDS = 60;

  /** How long an SP-initiated login may take at the IdP (the AuthnRequest id stays valid this long). */
  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(3600)
  SAML_REQUEST_TTL_SECONDS = 600;

  /** DNS servers (host or host:port, comma-separated) for domain verification; unset = the system's. */
  @IsOptional()
  @IsString()
  @Matches(/^[0-9A-Za-z.:[\]-]+(,[0-9A-Za-z.:[\]-]+)*$/, {
    message: 'must be a comma-separated list of host or host:port',
  })
  DNS_SERVERS?: string = undefined;

  /** PEM private key that signs SAML AuthnRequests (with SAML_SP_CERT_FILE); unset = unsigned. */
  @IsOptional()
  @IsString()
  SAML_SP_KEY_FILE?: string = undefined;

  /** PEM certificate of SAML_SP_KEY_FILE, published in the SP metadata. */
  @IsOptional()
  @IsString()
  SAML_SP_CERT_FILE?: string = undefined;

  /** Shared by all server nodes to authenticate forwarded requests (HMAC); unset = single node. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  NODE_SECRET?: string = undefined;

  /** Where other nodes reach this node's ingress; defaults to http://127.0.0.1:<ingress port>. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http'] })
  NODE_INTERNAL_URL?: string = undefined;
}

export class ConfigError extends Error {}

/** Reads and validates settings; throws a ConfigError naming every bad key (never its value). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw: Record<string, string> = {};
  const keys = Object.keys(new AppConfig());
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const spKey = readSpSigningKey(config);
  if (spKey.problems.length > 0) {
    throw new ConfigError(
      `Invalid configuration:\n${spKey.problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  if (config.SESSION_ABSOLUTE_TTL_SECONDS < config.SESSION_IDLE_TTL_SECONDS) {
    throw new ConfigError(
      'Invalid configuration:\n  SESSION_ABSOLUTE_TTL_SECONDS: must be >= SESSION_IDLE_TTL_SECONDS',
    );
  }
  return config;
}
