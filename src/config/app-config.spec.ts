import { ConfigError, loadConfig } from './app-config';

describe('loadConfig', () => {
  it('fills documented defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 3000,
      COOKIE_SECURE: true,
      REDIS_PREFIX: 'it:',
      BODY_LIMIT: '1mb',
      PUBLIC_URL: 'http://localhost:3000',
    });
  });

  it('parses numbers and booleans from strings', () => {
    const c = loadConfig({
      PORT: '8081',
      COOKIE_SECURE: 'false',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '9',
    });
    expect(c).toMatchObject({
      PORT: 8081,
      COOKIE_SECURE: false,
      LOGIN_MAX_FAILURES_PER_ACCOUNT: 9,
    });
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', '3000abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['SMTP_URL', 'mailto:x'],
    ['PUBLIC_URL', 'not a url'],
    ['COOKIE_SECURE', 'perhaps'],
    ['LOG_LEVEL', 'loud'],
    ['BODY_LIMIT', 'lots'],
    ['REDIS_PREFIX', 'has space'],
    ['SESSION_IDLE_TTL_SECONDS', '5'],
    ['METRICS_TOKEN', 'short'],
    ['NODE_SECRET', 'too-short-secret'],
    ['NODE_INTERNAL_URL', 'ftp://x'],
    ['WEBHOOK_BODY_LIMIT_BYTES', '7'],
  ])('names %s when it is %j, without echoing the value', (key, value) => {
    let error: unknown;
    try {
      loadConfig({ [key]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(key);
    expect((error as Error).message).not.toContain(value);
  });

  it('lists every bad key at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(
      /PORT[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*PORT/,
    );
  });

  it('refuses an absolute session lifetime shorter than the idle one', () => {
    expect(() =>
      loadConfig({ SESSION_IDLE_TTL_SECONDS: '7200', SESSION_ABSOLUTE_TTL_SECONDS: '3600' }),
    ).toThrow(/SESSION_ABSOLUTE_TTL_SECONDS/);
  });

  it('refuses a SAML SP key without its certificate, or one that cannot be read', () => {
    expect(() => loadConfig({ SAML_SP_KEY_FILE: '/nonexistent/sp.key' })).toThrow(
      /SAML_SP_CERT_FILE: must be set/,
    );
    expect(() =>
      loadConfig({
        SAML_SP_KEY_FILE: '/nonexistent/sp.key',
        SAML_SP_CERT_FILE: '/nonexistent/sp.crt',
      }),
    ).toThrow(/SAML_SP_KEY_FILE: cannot be read[\s\S]*SAML_SP_CERT_FILE: cannot be read/);
  });

  it('refuses SAML and DNS settings out of range', () => {
    expect(() => loadConfig({ SAML_CLOCK_SKEW_SECONDS: '3600' })).toThrow(
      /SAML_CLOCK_SKEW_SECONDS/,
    );
    expect(() => loadConfig({ SAML_REQUEST_TTL_SECONDS: '5' })).toThrow(/SAML_REQUEST_TTL_SECONDS/);
    expect(() => loadConfig({ DNS_SERVERS: '10.0.0.2; rm -rf /' })).toThrow(/DNS_SERVERS/);
    expect(loadConfig({ DNS_SERVERS: '10.0.0.2,[::1]:5353,ns.example:53' }).DNS_SERVERS).toBe(
      '10.0.0.2,[::1]:5353,ns.example:53',
    );
  });
});
