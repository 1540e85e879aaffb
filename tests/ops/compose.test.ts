// compose.yaml, checked without a Docker engine: its services, volumes and healthchecks, and that the gateway's
// config accepts the environment the container gets (the image's ENV plus compose's, with the required values).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../gateway/config';
import { ROOT } from '../support/bundle';

interface Service {
  image?: string;
  hostname?: string;
  profiles?: string[];
  restart?: string;
  build?: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; retries: number };
  ulimits?: { nofile: { soft: number; hard: number } };
}

// merge: compose reads YAML merge keys (<<: *gateway), so the test must too
const compose = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
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

const SAMPLES = {
  SENDGRID_API_KEY: 'SG.compose-test',
  MAIL_FROM: 'security@oms.example',
  RESET_PAGE_URL: 'https://oms.example/reset',
};

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
    const environment = interpolate(gateway?.environment ?? {}, SAMPLES);
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

  it('starts only the single-node services without a profile', () => {
    const unprofiled = Object.entries(compose.services).filter(([, service]) => !service.profiles);
    expect(unprofiled.map(([name]) => name).sort()).toEqual(['gateway', 'redis']);
  });
});

describe("compose.yaml's cluster profile", () => {
  const inProfile = Object.entries(compose.services).filter(([, service]) =>
    service.profiles?.includes('cluster'),
  );
  const nodes = inProfile.filter(([name]) => name.startsWith('redis-node-'));
  const init = compose.services['redis-cluster-init'];
  const gatewayCluster = compose.services['gateway-cluster'];

  it('runs six cluster nodes, each with AOF, its own volume and its service name as the hostname it announces', () => {
    expect(nodes).toHaveLength(6);
    const volumes = new Set<string>();
    for (const [name, node] of nodes) {
      const command = node.command?.join(' ') ?? '';
      expect(command).toContain('--cluster-enabled yes');
      expect(command).toContain('--cluster-config-file /data/nodes.conf');
      expect(command).toContain('--appendonly yes');
      // $$ is compose's escape: the container's shell sees $(hostname), which hostname: sets to the service name
      expect(command).toContain('--cluster-announce-hostname "$$(hostname)"');
      expect(node.hostname).toBe(name);
      const [volume, mount] = (node.volumes?.[0] ?? '').split(':');
      expect(mount).toBe('/data');
      expect(Object.keys(compose.volumes)).toContain(volume);
      volumes.add(volume!);
      expect(node.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    }
    expect(volumes.size).toBe(6);
  });

  it('joins every node once they are healthy, three primaries with a replica each, and skips a formed cluster', () => {
    expect(init?.depends_on).toEqual(
      Object.fromEntries(nodes.map(([name]) => [name, { condition: 'service_healthy' }])),
    );
    const script = init?.command?.at(-1) ?? '';
    const [check, create] = script.split(' || ');
    expect(check).toBe('redis-cli -h redis-node-1 cluster info | grep -q cluster_state:ok');
    const words = (create ?? '').split(/\s+/);
    expect(words.slice(0, 3)).toEqual(['redis-cli', '--cluster', 'create']);
    expect(words.filter((word) => word.endsWith(':6379')).sort()).toEqual(
      nodes.map(([name]) => `${name}:6379`).sort(),
    );
    expect(words.slice(-3)).toEqual(['--cluster-replicas', '1', '--cluster-yes']);
    expect(init?.restart).toBe('no');
  });

  it('starts gateway-cluster on 8081 once the cluster is joined, with the same checks as the gateway', () => {
    expect(gatewayCluster?.depends_on).toEqual({
      'redis-cluster-init': { condition: 'service_completed_successfully' },
    });
    expect(gatewayCluster?.ports).toEqual(['8081:8080']);
    expect(gatewayCluster?.healthcheck).toEqual(compose.services.gateway?.healthcheck);
    expect(gatewayCluster?.ulimits).toEqual(compose.services.gateway?.ulimits);
  });

  it('gives gateway-cluster an environment its config accepts, the cluster named by its nodes', () => {
    const environment = interpolate(gatewayCluster?.environment ?? {}, SAMPLES);
    expect(environment.REDIS_URL).toBeUndefined();
    const config = loadConfig({ ...imageEnv(), ...environment });
    const topology = config.redis?.topology;
    expect(topology?.kind).toBe('cluster');
    const nodeNames = new Set(nodes.map(([name]) => name));
    for (const node of topology?.kind === 'cluster' ? topology.nodes : []) {
      expect(nodeNames.has(node.host)).toBe(true);
      expect(node.port).toBe(6379);
    }
    expect(config.mail.sendgrid).not.toBeNull();
  });
});
