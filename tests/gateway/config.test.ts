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
      trustProxy: false,
      redis: null,
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

  it('says what LOG_LEVEL allows', () => {
    expect(errorFor({ LOG_LEVEL: 'loud' })).toMatch(/LOG_LEVEL: .*"info"/);
  });

  it('never repeats the bad value, which may be a secret', () => {
    expect(errorFor({ REDIS_URL: 'http://user:s3cr3t@host' })).not.toContain('s3cr3t');
  });
});
