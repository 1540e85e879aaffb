// Real multi-node Redis for tests: a cluster (3 primaries, or 3 + 3 replicas; started by testing/redis-nodes.ts,
// which the bench shares), a Sentinel setup, a TLS node and an ACL user; each on free loopback ports with its own
// temp dir, stopped by pid. A test file starts what it needs in beforeAll and stops it in afterAll; the global
// setup starts the shared ones once per run: a cluster and a Sentinel setup by default, or what
// TEST_REDIS_TOPOLOGIES names (see startSharedTopologies()).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import {
  Admins,
  HOST,
  infoFields,
  nodeArgs,
  startNode,
  startRedisCluster,
  stopNodes,
  tlsNodeArgs,
  waitFor,
} from '../../testing/redis-nodes';
import type { HostPort, RedisNode } from '../../testing/redis-nodes';

export { startRedisCluster };
export type {
  ClusterNodeView,
  HostPort,
  RedisCluster,
  RedisClusterOptions,
  RedisNode,
} from '../../testing/redis-nodes';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------------------------
// Sentinel

export interface RedisSentinelSetup {
  /** the monitored master's name (REDIS_SENTINEL_NAME) */
  readonly name: string;
  /** the primary at start (after a failover, ask currentPrimary()) */
  readonly primary: RedisNode;
  /** the replica at start */
  readonly replica: RedisNode;
  readonly sentinels: readonly RedisNode[];
  /** the sentinels' addresses, as an ioredis Sentinel client takes them */
  readonly sentinelAddresses: readonly HostPort[];
  /** "127.0.0.1:S1,…", the form REDIS_SENTINELS takes */
  readonly sentinelsEnv: string;
  readonly downAfterMs: number;
  /** The primary the sentinels name now (SENTINEL GET-MASTER-ADDR-BY-NAME on a live sentinel). */
  currentPrimary(): Promise<HostPort>;
  /**
   * Subscribes to +switch-master on a sentinel; resolves once subscribed, with `next`: the new primary of the
   * next failover. close() ends the subscription.
   */
  watchSwitchMaster(): Promise<{ readonly next: Promise<HostPort>; close(): void }>;
  /** An admin connection to one node or sentinel, closed by stop(). */
  admin(node: HostPort): Redis;
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  /** default "oms-primary" */
  readonly name?: string;
  /** down-after-milliseconds, default 1000 */
  readonly downAfterMs?: number;
  /** failover-timeout, default 5000 ms */
  readonly failoverTimeoutMs?: number;
}

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSetup> {
  const name = options.name ?? 'oms-primary';
  const downAfterMs = options.downAfterMs ?? 1000;
  const failoverTimeoutMs = options.failoverTimeoutMs ?? 5000;
  const admins = new Admins();
  const started: RedisNode[] = [];
  const stop = async (): Promise<void> => {
    admins.close();
    await stopNodes(started);
  };
  try {
    const primary = await startNode('primary', nodeArgs);
    started.push(primary);
    const replica = await startNode('replica', (port, dir) => [
      ...nodeArgs(port, dir),
      '--replicaof',
      HOST,
      String(primary.port),
    ]);
    started.push(replica);
    // the replica linked before the sentinels start: their first INFO of the primary lists it
    await waitFor('the replica linked to its primary', 20_000, async () => {
      const fields = infoFields((await admins.call(replica, 'INFO', 'replication')) as string);
      return fields.master_link_status === 'up';
    });
    const sentinels = await Promise.all(
      [1, 2, 3].map(() =>
        startNode(
          'sentinel',
          async (port, dir) => {
            // sentinel rewrites its config file (what it learns, failovers): it must be its own and writable
            const file = join(dir, 'sentinel.conf');
            await writeFile(
              file,
              [
                `port ${port}`,
                `bind ${HOST}`,
                `dir ${dir}`,
                `sentinel monitor ${name} ${HOST} ${primary.port} 2`,
                `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
                `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
                `sentinel parallel-syncs ${name} 1`,
                '',
              ].join('\n'),
            );
            return [file, '--sentinel'];
          },
          { ready: '+monitor master' },
        ),
      ),
    );
    started.push(...sentinels);
    // each sentinel knows the replica (from the primary's INFO) and the two others (their hello messages)
    await waitFor('the sentinels seeing the replica and each other', 30_000, async () => {
      for (const sentinel of sentinels) {
        const replicas = (await admins.call(sentinel, 'SENTINEL', 'REPLICAS', name)) as string[][];
        const known = replicas.map(pairs);
        if (!known.some((r) => Number(r.port) === replica.port && r.flags === 'slave')) return false;
        const others = (await admins.call(sentinel, 'SENTINEL', 'SENTINELS', name)) as string[][];
        if (others.length !== sentinels.length - 1) return false;
      }
      return true;
    });
    const anySentinel = (): RedisNode => {
      const sentinel = sentinels.find((each) => each.alive());
      if (sentinel === undefined) throw new Error('every sentinel is down');
      return sentinel;
    };
    return {
      name,
      primary,
      replica,
      sentinels,
      sentinelAddresses: sentinels.map(({ host, port }) => ({ host, port })),
      sentinelsEnv: sentinels.map((sentinel) => sentinel.address).join(','),
      downAfterMs,
      currentPrimary: async () => {
        const [host = '', port = ''] = (await admins.call(
          anySentinel(),
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          name,
        )) as string[];
        return { host, port: Number(port) };
      },
      watchSwitchMaster: async () => {
        const sentinel = anySentinel();
        const subscriber = new Redis({ host: sentinel.host, port: sentinel.port, maxRetriesPerRequest: 0 });
        subscriber.on('error', () => undefined);
        const next = new Promise<HostPort>((resolve) => {
          subscriber.on('message', (channel: string, message: string) => {
            // "<name> <old-ip> <old-port> <new-ip> <new-port>"
            const [master, , , host = '', port = ''] = message.split(' ');
            if (channel === '+switch-master' && master === name) resolve({ host, port: Number(port) });
          });
        });
        await subscriber.subscribe('+switch-master');
        return { next, close: () => subscriber.disconnect() };
      },
      admin: (node) => admins.of(node),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A flat [key, value, key, value…] reply as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i]!] = flat[i + 1]!;
  return object;
}

// ---------------------------------------------------------------------------------------------------------------
// TLS

export interface TestCertificates {
  readonly dir: string;
  /** the CA that signed the server and client certificates */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** a client certificate (clientAuth) signed by caFile's CA */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** another CA, which signed nothing the server shows: trusting it instead of caFile must fail */
  readonly otherCaFile: string;
  /** a client certificate signed by the other CA: the server must refuse it */
  readonly otherClientCertFile: string;
  readonly otherClientKeyFile: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=oms test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert, key };
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: { cert: string; key: string },
  extensions: readonly string[],
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      ...extensions,
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    String(1 + Math.floor(Math.random() * 1e9)),
    '-days',
    '2',
    '-out',
    cert,
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a second CA with its own client. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const [ca, other] = await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
  const [server, client, otherClient] = await Promise.all([
    makeLeaf(dir, 'server', ca, ['extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
    makeLeaf(dir, 'client', ca, ['extendedKeyUsage=clientAuth']),
    makeLeaf(dir, 'other-client', other, ['extendedKeyUsage=clientAuth']),
  ]);
  return {
    dir,
    caFile: ca.cert,
    serverCertFile: server.cert,
    serverKeyFile: server.key,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    otherCaFile: other.cert,
    otherClientCertFile: otherClient.cert,
    otherClientKeyFile: otherClient.key,
  };
}

export interface RedisTlsNode {
  readonly node: RedisNode;
  /** rediss://127.0.0.1:PORT */
  readonly url: string;
  readonly certs: TestCertificates;
  stop(): Promise<void>;
}

/**
 * A node that speaks TLS only (no plain port), with certificates made here by openssl. Client certificates
 * are optional, but one that is shown must be signed by the CA.
 */
export async function startRedisTls(): Promise<RedisTlsNode> {
  let certs: TestCertificates | undefined;
  const node = await startNode('tls', async (port, dir) => {
    certs ??= await makeTestCertificates(dir);
    const files = { caFile: certs.caFile, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile };
    return tlsNodeArgs(port, dir, files, 'optional');
  });
  return {
    node,
    url: `rediss://${node.address}`,
    certs: certs!,
    stop: () => stopNodes([node]),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ACL

/**
 * Every command the gateway sends, found by reading the code and confirmed by the ACL tests (the whole reset
 * flow and the CLI as this user, with an empty ACL LOG, on one node and on every node of a cluster, also through
 * a failover): ioredis's handshake (CLIENT SETNAME, the INFO of its ready check; HELLO, AUTH and QUIT need no
 * permission), on a cluster its CLUSTER INFO, CLUSTER SLOTS, READONLY and READWRITE, the commands called from
 * TypeScript (WAIT with REDIS_WAIT_REPLICAS), the scripts (EVALSHA, EVAL when the script cache is cold, SCRIPT
 * LOAD) and every redis.call inside them. docs/operations.md shows the same list.
 */
export const GATEWAY_ACL_COMMANDS: readonly string[] = [
  // the connection: ioredis's handshake and ready check, /readyz, the revocation subscriber
  'ping',
  'info',
  'client|setname',
  // a cluster: ioredis's ready check and /readyz (CLUSTER INFO), its slot map (CLUSTER SLOTS); READONLY on the
  // connections it opens to replicas (the slot-map refresher picks any node), READWRITE on one whose node a
  // failover promoted
  'cluster|info',
  'cluster|slots',
  'readonly',
  'readwrite',
  // REDIS_WAIT_REPLICAS: the replicas' acknowledgement of a reset's final writes
  'wait',
  // the revocations' subscriber: a sharded channel (sessions.ts)
  'ssubscribe',
  // the scripts
  'evalsha',
  'eval',
  'script|load',
  // strings, counters and expiry
  'get',
  'mget',
  'set',
  'getex',
  'del',
  'exists',
  'type',
  'incr',
  'decr',
  'pexpire',
  'persist',
  'pttl',
  'time',
  // hashes
  'hget',
  'hmget',
  'hgetall',
  'hset',
  'hdel',
  'hincrby',
  'hexists',
  // sets
  'sadd',
  'srem',
  'sismember',
  'smembers',
  // sorted sets (the mail queue)
  'zadd',
  'zrem',
  'zcard',
  'zrange',
  'zrangebyscore',
  // lists (dead letters) and the audit stream
  'lpush',
  'ltrim',
  'lrange',
  'xadd',
  'xrevrange',
  // session revocations, published on a sharded channel
  'spublish',
];

/** The `ACL SETUSER` arguments for the gateway's user: its key prefix and channels, nothing else. */
export function gatewayAclRules(password: string, prefix: string): string[] {
  return [
    'reset',
    'on',
    `>${password}`,
    `~${prefix}*`,
    `&${prefix}*`,
    '-@all',
    ...GATEWAY_ACL_COMMANDS.map((command) => `+${command}`),
  ];
}

/** Creates (or replaces) the gateway's ACL user on the node at `adminUrl`; returns the user's redis:// URL. */
export async function createGatewayAclUser(
  adminUrl: string,
  user: { readonly name: string; readonly password: string; readonly prefix: string },
): Promise<string> {
  const admin = new Redis(adminUrl, { maxRetriesPerRequest: 0 });
  try {
    await admin.call('ACL', 'SETUSER', user.name, ...gatewayAclRules(user.password, user.prefix));
  } finally {
    admin.disconnect();
  }
  const url = new URL(adminUrl);
  url.username = encodeURIComponent(user.name);
  url.password = encodeURIComponent(user.password);
  return url.toString();
}

export interface RedisAclNode {
  readonly node: RedisNode;
  /** the default user's URL (all commands): for setting users up and reading ACL LOG */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

/** A node of its own for ACL tests, so ACL LOG holds only their denials. */
export async function startRedisAcl(): Promise<RedisAclNode> {
  const node = await startNode('acl', (port, dir) => [...nodeArgs(port, dir), '--acllog-max-len', '1024']);
  return { node, adminUrl: `redis://${node.address}`, stop: () => stopNodes([node]) };
}

// ---------------------------------------------------------------------------------------------------------------
// Shared per run (global setup)

/** The topologies TEST_REDIS_TOPOLOGIES may name, started once per run by the global setup. */
export type SharedTopology = 'cluster' | 'sentinel';

/**
 * Starts what TEST_REDIS_TOPOLOGIES (comma-separated: cluster, sentinel) names and exports it to the test
 * workers: TEST_REDIS_CLUSTER_NODES, TEST_REDIS_SENTINELS and TEST_REDIS_SENTINEL_NAME. Returns a stop function.
 * Failover tests must not use these (they kill nodes): they start their own.
 */
export async function startSharedTopologies(
  names: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<() => Promise<void>> {
  const wanted = new Set(
    (names ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  for (const name of wanted) {
    if (name !== 'cluster' && name !== 'sentinel') {
      throw new Error(`TEST_REDIS_TOPOLOGIES: unknown topology ${name} (cluster, sentinel)`);
    }
  }
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(stops.map((stop) => stop()));
  };
  // both at once: each takes seconds of mostly waiting (the cluster's join, the Sentinels' discovery)
  const started = await Promise.allSettled([
    wanted.has('cluster')
      ? startRedisCluster().then((cluster) => {
          stops.push(() => cluster.stop());
          env.TEST_REDIS_CLUSTER_NODES = cluster.nodesEnv;
        })
      : undefined,
    wanted.has('sentinel')
      ? startRedisSentinel().then((sentinel) => {
          stops.push(() => sentinel.stop());
          env.TEST_REDIS_SENTINELS = sentinel.sentinelsEnv;
          env.TEST_REDIS_SENTINEL_NAME = sentinel.name;
        })
      : undefined,
  ]);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return stopAll;
}

/** "host:port,host:port" as addresses. */
export function parseAddresses(list: string): HostPort[] {
  return list.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  });
}
