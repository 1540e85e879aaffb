// Configuration: defaults, and errors that name the variable and what it allows (never the value).
import { ConfigError, loadConfig } from '../../gateway/config';

function errorFor(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      logLevel: 'info',
      maxFrameBytes: 65536,
      maxInflightPerConnection: 64,
      maxBufferedBytes: 4 * 1024 * 1024,
      maxBadFrames: 50,
      heartbeatIntervalMs: 30000,
      shutdownTimeoutMs: 10000,
      trustProxy: { kind: 'none' },
      redis: null,
      maxSessionsPerUser: 100,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 8080, redis: null });
  });

  it('reads Redis settings together', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390', REDIS_PREFIX: 'x:' }).redis).toEqual({
      url: 'redis://127.0.0.1:6390',
      prefix: 'x:',
      commandTimeoutMs: 2000,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MAX_INFLIGHT_PER_CONNECTION: '0' }, 'MAX_INFLIGHT_PER_CONNECTION'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY'],
    [{ REDIS_URL: 'http://secret-host:6379' }, 'REDIS_URL'],
  ])('names the variable in the error for %j', (env, name) => {
    expect(errorFor(env)).toContain(`${name}:`);
  });

  it('lets a Redis gateway only queue mail (MAIL_DELIVERY_CONCURRENCY=0), and refuses that on the embedded store', () => {
    expect(loadConfig({}).mail.deliveryConcurrency).toBe(2);
    const redis = { REDIS_URL: 'redis://127.0.0.1:6390', MAIL_DELIVERY_CONCURRENCY: '0' };
    expect(loadConfig(redis).mail.deliveryConcurrency).toBe(0);
    expect(errorFor({ MAIL_DELIVERY_CONCURRENCY: '0' })).toMatch(
      /^Invalid configuration: MAIL_DELIVERY_CONCURRENCY: 0 needs REDIS_URL/,
    );
    expect(errorFor({ MAIL_DELIVERY_CONCURRENCY: '65' })).toContain('MAIL_DELIVERY_CONCURRENCY:');
  });

  it('says what LOG_LEVEL allows', () => {
    expect(errorFor({ LOG_LEVEL: 'loud' })).toMatch(/LOG_LEVEL: .*"info"/);
  });

  it('never repeats the bad value, which may be a secret', () => {
    expect(errorFor({ REDIS_URL: 'http://user:s3cr3t@host' })).not.toContain('s3cr3t');
  });

  it('defaults the reset page to the gateway itself and allows that origin', () => {
    const config = loadConfig({ PORT: '9000' });
    expect(config.reset.pageUrl).toBe('http://127.0.0.1:9000/reset');
    expect(config.allowedOrigins).toEqual(['http://127.0.0.1:9000']);
    expect(config.mail.sendgrid).toBeNull();
  });

  it('derives the allowed origin from RESET_PAGE_URL, or takes ALLOWED_ORIGINS', () => {
    expect(loadConfig({ RESET_PAGE_URL: 'https://oms.example.com/account/reset' }).allowedOrigins).toEqual([
      'https://oms.example.com',
    ]);
    expect(
      loadConfig({ ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080' }).allowedOrigins,
    ).toEqual(['https://a.example', 'http://b.example:8080']);
  });

  it.each([
    [{ RESET_PAGE_URL: 'ftp://example.com/reset' }, 'RESET_PAGE_URL: must be an http:// or https:// URL'],
    [{ RESET_PAGE_URL: 'https://example.com/reset#x' }, 'RESET_PAGE_URL: must not have a #fragment'],
    [{ ALLOWED_ORIGINS: 'https://a.example/path' }, 'ALLOWED_ORIGINS: must be comma-separated origins'],
    [{ SENDGRID_API_KEY: 'SG.secret' }, 'MAIL_FROM: required when SENDGRID_API_KEY is set'],
    [{ SENDGRID_API_KEY: 'secret-without-prefix' }, 'SENDGRID_API_KEY: must be a SendGrid API key'],
    [{ MAIL_FROM: 'not-an-address' }, 'MAIL_FROM: must be an e-mail address'],
    [
      { RESET_PAGE_GATEWAY_URL: 'http://example.com' },
      'RESET_PAGE_GATEWAY_URL: must be a ws:// or wss:// URL',
    ],
  ])('explains %j', (env, message) => {
    expect(errorFor(env)).toContain(message);
  });

  it('groups the SendGrid settings once an API key is given', () => {
    const config = loadConfig({ SENDGRID_API_KEY: 'SG.k', MAIL_FROM: 'ops@example.com' });
    expect(config.mail.sendgrid).toEqual({
      apiKey: 'SG.k',
      baseUrl: 'https://api.sendgrid.com',
      templateId: null,
    });
    expect(config.mail.from).toBe('ops@example.com');
  });
});
