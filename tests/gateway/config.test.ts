import { readFileSync } from 'node:fs';
// Configuration: defaults, and errors that name the variable and what it allows (never the value).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, KNOWN_VARIABLES, loadConfig as loadAnyConfig } from '../../gateway/config';
import type { Env, LoadOptions } from '../../gateway/config';
import { makeTestCertificates } from '../support/redis-topology';
import type { TestCertificates } from '../support/redis-topology';

/** Parsing and defaults, in development mode (the production rules have their own tests below). */
const loadConfig = (env: Env) => loadAnyConfig({ OMS_DEV: '1', ...env });

/** What production needs: a real mailer, a shared store and the reset page. */
const PRODUCTION = {
  SENDGRID_API_KEY: 'SG.production-key',
  MAIL_FROM: 'ops@example.com',
  REDIS_URL: 'redis://redis.internal:6379',
  RESET_PAGE_URL: 'https://oms.example.com/reset',
} as const;

function errorFor(env: Env, load: (env: Env) => unknown = loadConfig): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults in development mode', () => {
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
      dev: true,
      metrics: { port: null, host: '127.0.0.1', token: null },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 8080, redis: null });
  });

  it('reads Redis settings together', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390', REDIS_PREFIX: 'x:' }).redis).toEqual({
      topology: { kind: 'single', url: 'redis://127.0.0.1:6390' },
      auth: null,
      prefix: 'x:',
      commandTimeoutMs: 2000,
      tls: null,
      replicaWait: null,
    });
  });

  describe('Redis topologies', () => {
    it('reads a cluster from some of its nodes, with an ACL user for every node', () => {
      const redis = loadConfig({
        REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b.internal:7001,[::1]:7002',
        REDIS_USERNAME: 'oms-gateway',
        REDIS_PASSWORD: 'acl-secret',
      }).redis;
      expect(redis?.topology).toEqual({
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: 'redis-b.internal', port: 7001 },
          { host: '::1', port: 7002 },
        ],
      });
      expect(redis?.auth).toEqual({ username: 'oms-gateway', password: 'acl-secret' });
      expect(Object.isFrozen(redis?.topology)).toBe(true);
    });

    it('reads Sentinels with the name they monitor the primary under, and their own password', () => {
      expect(
        loadConfig({
          REDIS_SENTINELS: 's1:26379,s2:26379',
          REDIS_SENTINEL_NAME: 'oms',
          REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
        }).redis?.topology,
      ).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        name: 'oms',
        sentinelPassword: 'sentinel-secret',
      });
    });

    it.each(['', 'redis', 'a:1,', 'a:0', 'a:65536', 'a:1,b', 'a b:1', 'redis://a:1'])(
      'refuses the node list %j, naming the variable',
      (list) => {
        if (list === '') return expect(loadConfig({ REDIS_CLUSTER_NODES: list }).redis).toBeNull();
        for (const name of ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS']) {
          expect(errorFor({ [name]: list, REDIS_SENTINEL_NAME: 'oms' })).toBe(
            `Invalid configuration: ${name}: must be host:port,host:port,… (IPv6 as [addr]:port)`,
          );
        }
      },
    );

    it('refuses two topologies at once, naming both', () => {
      expect(errorFor({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' })).toBe(
        'Invalid configuration: REDIS_URL, REDIS_CLUSTER_NODES: give one Redis topology (REDIS_URL for one node, REDIS_CLUSTER_NODES for a cluster, or REDIS_SENTINELS for a Sentinel-watched primary), not 2',
      );
      expect(
        errorFor({ REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINELS: 'c:26379', REDIS_SENTINEL_NAME: 'x' }),
      ).toContain('REDIS_CLUSTER_NODES, REDIS_SENTINELS: give one Redis topology');
    });

    it('refuses Sentinels without a name, and Sentinel settings without Sentinels', () => {
      expect(errorFor({ REDIS_SENTINELS: 'c:26379' })).toBe(
        'Invalid configuration: REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name the Sentinels monitor the primary under)',
      );
      expect(errorFor({ REDIS_URL: 'redis://a:6379', REDIS_SENTINEL_NAME: 'oms' })).toBe(
        'Invalid configuration: REDIS_SENTINEL_NAME: needs REDIS_SENTINELS',
      );
      expect(errorFor({ REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINEL_PASSWORD: 'pw' })).toBe(
        'Invalid configuration: REDIS_SENTINEL_PASSWORD: needs REDIS_SENTINELS',
      );
    });

    it('refuses credentials in two places, a user without a password, and Redis settings without Redis', () => {
      expect(errorFor({ REDIS_URL: 'redis://u:p@a:6379', REDIS_PASSWORD: 'other' })).toContain(
        'REDIS_PASSWORD: REDIS_URL carries a user or password already',
      );
      expect(loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_PASSWORD: 'pw' }).redis?.auth).toEqual({
        password: 'pw',
      });
      expect(errorFor({ REDIS_CLUSTER_NODES: 'a:1', REDIS_USERNAME: 'oms' })).toBe(
        'Invalid configuration: REDIS_USERNAME: needs REDIS_PASSWORD (the ACL user logs in with it)',
      );
      for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS']) {
        expect(errorFor({ [name]: 'true' })).toBe(
          `Invalid configuration: ${name}: needs Redis (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS)`,
        );
      }
    });

    it('never prints a password it refuses', () => {
      const message = errorFor({ REDIS_URL: 'redis://u:url-secret@a:6379', REDIS_PASSWORD: 'env-secret' });
      expect(message).not.toContain('url-secret');
      expect(message).not.toContain('env-secret');
    });

    it('takes TLS for a cluster or Sentinels from REDIS_TLS, and for one node from the URL only', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_TLS: 'true' }).redis?.tls).toEqual({});
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'a:1' }).redis?.tls).toBeNull();
      expect(errorFor({ REDIS_URL: 'redis://a:6379', REDIS_TLS: 'true' })).toBe(
        'Invalid configuration: REDIS_TLS: with REDIS_URL the scheme says it (rediss:// for TLS); unset REDIS_TLS',
      );
    });

    it('waits for replicas only when asked, within a bound below the command timeout', () => {
      expect(loadConfig({ REDIS_URL: 'redis://a:6379' }).redis?.replicaWait).toBeNull();
      expect(
        loadConfig({ REDIS_URL: 'redis://a:6379', REDIS_WAIT_REPLICAS: '1' }).redis?.replicaWait,
      ).toEqual({
        replicas: 1,
        timeoutMs: 1000,
      });
      expect(
        errorFor({ REDIS_URL: 'redis://a:6379', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '2000' }),
      ).toBe(
        'Invalid configuration: REDIS_WAIT_TIMEOUT_MS: must be below REDIS_COMMAND_TIMEOUT_MS (the WAIT is one command and would time out first)',
      );
      expect(errorFor({ REDIS_WAIT_REPLICAS: '1' })).toBe(
        'Invalid configuration: REDIS_WAIT_REPLICAS: needs Redis (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS)',
      );
    });

    it("accepts a cluster or Sentinels as production's shared store", () => {
      const rest = Object.fromEntries(Object.entries(PRODUCTION).filter(([name]) => name !== 'REDIS_URL'));
      expect(loadAnyConfig({ ...rest, REDIS_CLUSTER_NODES: 'a:7000' }).redis?.topology.kind).toBe('cluster');
      expect(
        loadAnyConfig({ ...rest, REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'oms' }).redis?.topology
          .kind,
      ).toBe('sentinel');
      expect(errorFor(rest, (e) => loadAnyConfig(e))).toContain(
        'REDIS_URL: required outside development mode; set it to the shared store (redis:// or rediss://), or set REDIS_CLUSTER_NODES or REDIS_SENTINELS',
      );
    });
  });

  describe('Redis over TLS', () => {
    let certs: TestCertificates;
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'oms-config-tls-'));
      certs = await makeTestCertificates(dir);
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reads the CA, client certificate and key files at start-up for rediss://', async () => {
      const redis = loadConfig({
        REDIS_URL: 'rediss://gateway:pw@redis.example:6380',
        REDIS_TLS_CA_FILE: certs.caFile,
        REDIS_TLS_CERT_FILE: certs.clientCertFile,
        REDIS_TLS_KEY_FILE: certs.clientKeyFile,
      }).redis;
      expect(redis?.tls).toEqual({
        ca: await readFile(certs.caFile, 'utf8'),
        cert: await readFile(certs.clientCertFile, 'utf8'),
        key: await readFile(certs.clientKeyFile, 'utf8'),
      });
      expect(Object.isFrozen(redis?.tls)).toBe(true);
    });

    it("trusts the system's CAs on rediss:// without REDIS_TLS_CA_FILE, and uses no TLS on redis://", () => {
      expect(loadConfig({ REDIS_URL: 'rediss://redis.example:6380' }).redis?.tls).toEqual({});
      expect(loadConfig({ REDIS_URL: 'redis://redis.example:6379' }).redis?.tls).toBeNull();
    });

    it('refuses TLS files without a rediss:// REDIS_URL', () => {
      expect(errorFor({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: certs.caFile })).toBe(
        'Invalid configuration: REDIS_TLS_CA_FILE: needs TLS to Redis (a rediss:// REDIS_URL, or REDIS_TLS=true with REDIS_CLUSTER_NODES or REDIS_SENTINELS)',
      );
      expect(errorFor({ REDIS_TLS_CERT_FILE: certs.clientCertFile })).toContain('REDIS_TLS_CERT_FILE: needs');
    });

    it('wants a client certificate and its key together, and the key must be that certificate’s', () => {
      const url = { REDIS_URL: 'rediss://127.0.0.1:6380' };
      expect(errorFor({ ...url, REDIS_TLS_CERT_FILE: certs.clientCertFile })).toContain(
        'REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: give both',
      );
      expect(errorFor({ ...url, REDIS_TLS_KEY_FILE: certs.clientKeyFile })).toContain('give both');
      expect(
        errorFor({
          ...url,
          REDIS_TLS_CERT_FILE: certs.clientCertFile,
          REDIS_TLS_KEY_FILE: certs.serverKeyFile,
        }),
      ).toContain('REDIS_TLS_KEY_FILE: is not the private key');
    });

    it('names the variable of a missing or malformed file, and never prints a key', async () => {
      const url = { REDIS_URL: 'rediss://127.0.0.1:6380' };
      const missing = join(dir, 'missing.pem');
      expect(errorFor({ ...url, REDIS_TLS_CA_FILE: missing })).toBe(
        `Invalid configuration: REDIS_TLS_CA_FILE: cannot read ${missing} (ENOENT)`,
      );
      // a key where a certificate belongs: refused, and its text is not echoed
      const swapped = errorFor({
        ...url,
        REDIS_TLS_CERT_FILE: certs.clientKeyFile,
        REDIS_TLS_KEY_FILE: certs.clientKeyFile,
      });
      expect(swapped).toBe(
        `Invalid configuration: REDIS_TLS_CERT_FILE: ${certs.clientKeyFile} is not a PEM certificate`,
      );
      const key = await readFile(certs.clientKeyFile, 'utf8');
      expect(swapped).not.toContain(key.split('\n')[1]);
      expect(
        errorFor({
          ...url,
          REDIS_TLS_CERT_FILE: certs.clientCertFile,
          REDIS_TLS_KEY_FILE: certs.clientCertFile,
        }),
      ).toContain('REDIS_TLS_KEY_FILE: ');
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
      /^Invalid configuration: MAIL_DELIVERY_CONCURRENCY: 0 needs Redis \(REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS/,
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

describe('loadConfig outside development mode', () => {
  const production = (env: Env, options?: LoadOptions) => loadAnyConfig(env, options);

  it('refuses to start without a mailer, a shared store and a reset page, naming each and the fix', () => {
    // the Docker image's own environment: a public bind and nothing else
    const message = errorFor({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '8080' }, production);
    expect(message).toContain('SENDGRID_API_KEY: required outside development mode; set it and MAIL_FROM');
    expect(message).toContain('REDIS_URL: required outside development mode');
    expect(message).toContain('RESET_PAGE_URL: required outside development mode');
    expect(message).toContain('OMS_DEV=1 on a loopback HOST');
  });

  it.each(Object.keys(PRODUCTION).filter((name) => name !== 'MAIL_FROM'))(
    'refuses a production configuration without %s, on any HOST',
    (name) => {
      for (const HOST of ['0.0.0.0', '127.0.0.1']) {
        const env: Record<string, string> = { ...PRODUCTION, HOST };
        delete env[name];
        expect(errorFor(env, production)).toContain(`${name}: required outside development mode`);
      }
    },
  );

  it('starts with all of them: no dev outbox, no demo users, no default reset page, metrics on their own port', () => {
    const config = production({ ...PRODUCTION, HOST: '0.0.0.0' });
    expect(config.dev).toBe(false);
    expect(config.mail.sendgrid).not.toBeNull();
    expect(config.reset.pageUrl).toBe('https://oms.example.com/reset');
    expect(config.metrics).toEqual({ port: 9464, host: '127.0.0.1', token: null });
  });

  it('lets the admin commands open the store with REDIS_URL alone', () => {
    expect(production({ REDIS_URL: PRODUCTION.REDIS_URL }, { role: 'admin' }).redis?.topology).toEqual({
      kind: 'single',
      url: PRODUCTION.REDIS_URL,
    });
  });

  it('refuses development mode on a public bind, naming HOST and OMS_DEV', () => {
    for (const HOST of ['0.0.0.0', '::', '192.168.1.10', 'gateway.example.com']) {
      const message = errorFor({ OMS_DEV: '1', HOST }, production);
      expect(message).toContain('OMS_DEV: development mode');
      expect(message).toContain(`HOST is ${HOST}`);
    }
    // --dev is the same switch
    expect(errorFor({ HOST: '0.0.0.0' }, (env) => production(env, { dev: true }))).toContain(
      'HOST is 0.0.0.0',
    );
  });

  it.each(['127.0.0.1', '127.8.9.10', '::1', 'localhost', 'LOCALHOST'])(
    'allows development mode on the loopback HOST %s',
    (HOST) => {
      expect(production({ OMS_DEV: '1', HOST }).dev).toBe(true);
      expect(production({ HOST }, { dev: true }).dev).toBe(true);
    },
  );

  it('keeps metrics off the public port', () => {
    expect(errorFor({ ...PRODUCTION, PORT: '9464' }, production)).toContain(
      'METRICS_PORT: must differ from PORT',
    );
    expect(errorFor({ ...PRODUCTION, METRICS_TOKEN: 'short' }, production)).toContain(
      'METRICS_TOKEN: must be at least 16 characters',
    );
    expect(
      production({
        ...PRODUCTION,
        METRICS_PORT: '9100',
        METRICS_HOST: '0.0.0.0',
        METRICS_TOKEN: 'x'.repeat(32),
      }).metrics,
    ).toEqual({ port: 9100, host: '0.0.0.0', token: 'x'.repeat(32) });
  });
});

describe('unknown variables', () => {
  it.each([
    ['REDIS_ULR', 'did you mean REDIS_URL?'],
    ['REDIS_CLUSTR_NODES', 'did you mean REDIS_CLUSTER_NODES?'],
    ['REDIS_SENTINEL', 'did you mean REDIS_SENTINELS?'],
    ['REDIS_SHARDS', ''],
    ['SENDGRID_APIKEY', 'did you mean SENDGRID_API_KEY?'],
    ['RESET_PAGE_ULR', 'did you mean RESET_PAGE_URL?'],
    ['MAIL_FORM', 'did you mean MAIL_FROM?'],
    ['OMS_DEVE', 'did you mean OMS_DEV?'],
    ['METRICS_TOKN', 'did you mean METRICS_TOKEN?'],
  ])('refuses %s in every mode, naming it and the closest known name', (name, hint) => {
    const value = 'redis://127.0.0.1:6390';
    for (const env of [
      { OMS_DEV: '1', [name]: value },
      { ...PRODUCTION, [name]: value },
    ]) {
      const message = errorFor(env, (e) => loadAnyConfig(e));
      expect(message).toContain(`${name}: not a variable the gateway reads (${hint}`);
      expect(message).not.toContain(value);
    }
  });

  it('does not suggest a name far from the unknown one', () => {
    expect(errorFor({ REDIS_SHARDS: 'a:1,b:2' })).not.toContain('did you mean');
  });

  it('ignores variables of other programs and unknown ones set empty', () => {
    expect(loadConfig({ NODE_ENV: 'production', REDISCLI_AUTH: 'x', REDIS_ULR: '' }).dev).toBe(true);
  });

  it('lists the schema variables as the known ones', () => {
    expect(KNOWN_VARIABLES).toContain('REDIS_URL');
    expect(KNOWN_VARIABLES).toContain('OMS_DEV');
    expect(KNOWN_VARIABLES).toContain('METRICS_TOKEN');
    expect(KNOWN_VARIABLES).toContain('REDIS_CLUSTER_NODES');
    expect(KNOWN_VARIABLES).not.toContain('REDIS_SHARDS');
  });
});

describe('the configuration table', () => {
  it('docs/configuration.md has one row per variable the gateway reads, with the default the schema applies', () => {
    const page = readFileSync(join(__dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
    const rows = new Map(
      [...page.matchAll(/^\| `([A-Z0-9_]+)` \| (.*?) \| (.*) \|$/gm)].map((m) => [m[1], m[2]] as const),
    );
    expect([...rows.keys()].sort()).toEqual([...KNOWN_VARIABLES].sort());
    const defaults = loadAnyConfig({ OMS_DEV: '1' });
    expect(rows.get('PORT')).toBe(String(defaults.port));
    expect(rows.get('MAX_SESSIONS_PER_USER')).toBe(String(defaults.maxSessionsPerUser));
    expect(rows.get('RESET_CODE_TTL_SECONDS')).toBe(String(defaults.reset.codeTtlSeconds));
  });
});

describe('process scale (WORKERS, MAX_HANDSHAKES_PER_SECOND, FD_RESERVE)', () => {
  it('runs one worker per core on Redis in production, one process on the embedded store or in development mode', () => {
    expect(loadAnyConfig(PRODUCTION).scale).toEqual({
      workers: availableParallelism(),
      handshakesPerSecond: 4000,
      fdReserve: 64,
    });
    expect(loadConfig({}).scale.workers).toBe(1);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6390' }).scale.workers).toBe(1);
    expect(loadAnyConfig({ ...PRODUCTION, WORKERS: '3' }).scale.workers).toBe(3);
  });

  it('refuses more than one worker on the embedded store, saying why', () => {
    expect(errorFor({ WORKERS: '2' })).toContain('WORKERS: more than 1 needs Redis');
    expect(loadConfig({ WORKERS: '1' }).scale.workers).toBe(1);
  });

  it('refuses more than one worker in development mode without METRICS_PORT (the summed /metrics is on its own port)', () => {
    const redis = { REDIS_URL: 'redis://127.0.0.1:6390', WORKERS: '2' };
    expect(errorFor(redis)).toContain('WORKERS: more than 1 needs METRICS_PORT');
    expect(loadConfig({ ...redis, METRICS_PORT: '0' }).scale.workers).toBe(2);
  });

  it('takes 0 as no handshake bound and refuses a negative reserve', () => {
    expect(loadConfig({ MAX_HANDSHAKES_PER_SECOND: '0' }).scale.handshakesPerSecond).toBe(0);
    expect(errorFor({ FD_RESERVE: '-1' })).toContain('FD_RESERVE:');
    expect(errorFor({ WORKERS: '0' })).toContain('WORKERS:');
  });
});
