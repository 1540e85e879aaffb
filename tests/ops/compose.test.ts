// compose.yaml, checked without a Docker engine: its services, volumes and healthchecks, and that the gateway's
// config accepts the environment the container gets (the image's ENV plus compose's, with the required values).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../gateway/config';
import { ROOT } from '../support/bundle';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; retries: number };
  ulimits?: { nofile: { soft: number; hard: number } };
}

const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** ${NAME:?message} → a sample value, ${NAME:-default} → the default: what compose hands the container. */
function interpolate(
  environment: Record<string, string>,
  samples: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      value.replace(/\$\{(\w+)(?::\?[^}]*|:-([^}]*))?\}/g, (_match, name: string, fallback?: string) => {
        const sample = samples[name] ?? fallback;
        if (sample === undefined) throw new Error(`no sample for ${name}`);
        return sample;
      }),
    ]),
  );
}

/** The ENV lines of the Dockerfile's last stage, as the container starts with them. */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const block = /\nENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(last)?.[1] ?? '';
  return Object.fromEntries(
    [...block.replace(/\\\n/g, ' ').matchAll(/(\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!]),
  );
}

describe('compose.yaml', () => {
  const { redis, gateway } = compose.services;

  it('runs Redis with AOF persistence on a named volume, with a healthcheck', () => {
    expect(redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    const [volume, mount] = (redis?.volumes?.[0] ?? '').split(':');
    expect(mount).toBe('/data');
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('starts the gateway once Redis is healthy, publishes 8080, checks /readyz and raises the file limit', () => {
    expect(gateway?.build).toBe('.');
    expect(gateway?.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(gateway?.ports).toContain('8080:8080');
    expect(gateway?.healthcheck?.test.join(' ')).toContain('/readyz');
    expect(gateway?.ulimits?.nofile.soft).toBeGreaterThanOrEqual(20_000);
  });

  it('gives the gateway an environment its config accepts, Redis named by its service', () => {
    const environment = interpolate(gateway?.environment ?? {}, {
      SENDGRID_API_KEY: 'SG.compose-test',
      MAIL_FROM: 'security@oms.example',
      RESET_PAGE_URL: 'https://oms.example/reset',
    });
    expect(new URL(environment.REDIS_URL ?? '').hostname).toBe('redis');
    const config = loadConfig({ ...imageEnv(), ...environment });
    expect(config.redis?.topology).toEqual({ kind: 'single', url: 'redis://redis:6379' });
    expect(config.mail.sendgrid).not.toBeNull();
    expect(config.host).toBe('0.0.0.0');
  });

  it('requires the secrets and the public URL from the operator instead of defaulting them', () => {
    for (const name of ['SENDGRID_API_KEY', 'MAIL_FROM', 'RESET_PAGE_URL']) {
      expect(gateway?.environment?.[name]).toMatch(new RegExp(`^\\$\\{${name}:\\?`));
    }
  });
});
