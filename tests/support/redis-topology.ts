// Real multi-node Redis for tests: a cluster (3 primaries, or 3 + 3 replicas), a Sentinel setup, a TLS node and an
// ACL user; each on free loopback ports with its own temp dir, stopped by pid. A test file starts what it needs in
// beforeAll and stops it in afterAll; the global setup starts a shared cluster or Sentinel setup once per run only
// when TEST_REDIS_TOPOLOGIES asks (see sharedTopologies()), so the normal run pays for none of them.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pollUntil } from './poll-until';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One redis-server (or sentinel) process. */
export interface RedisNode extends HostPort {
  readonly pid: number;
  /** its own temp dir (nodes.conf, sentinel.conf, certificates) */
  readonly dir: string;
  /** "127.0.0.1:PORT" */
  readonly address: string;
  /** whether the process still runs */
  alive(): boolean;
  /** Sends `signal` (default SIGKILL); resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** the last lines it wrote, for failure messages */
  output(): string;
}

// Ports come from below Linux's ephemeral range (32768–60999), so no outgoing connection holds one; a cluster
// node's bus listens on port + 10000, which must be free too and stays below 32768.
const PORT_MIN = 10_000;
const PORT_MAX = 22_767;
const BUS_OFFSET = 10_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

async function pickPort(withBus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
    if ((await canListen(port)) && (!withBus || (await canListen(port + BUS_OFFSET)))) return port;
  }
  throw new Error(`no free loopback port between ${PORT_MIN} and ${PORT_MAX}`);
}

class PortTakenError extends Error {}

/** How long one process may take to say it is ready before the harness gives up on it. */
const START_TIMEOUT_MS = 20_000;

function spawnOnPort(port: number, args: readonly string[], ready: string, dir: string): Promise<RedisNode> {
  const child: ChildProcess = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const node: RedisNode = {
    host: HOST,
    port,
    pid: child.pid ?? -1,
    dir,
    address: `${HOST}:${port}`,
    alive,
    kill: async (signal = 'SIGKILL') => {
      if (alive()) child.kill(signal);
      await exited;
    },
    output: () => output,
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server ${args.join(' ')} not ready within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (): void => {
      if (!output.includes(ready)) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve(node);
    };
    child.stdout?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server did not start (is it installed?): ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (output.includes('Address already in use')) reject(new PortTakenError(output));
      else reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts redis-server with `args(port)` on a free port in its own new temp dir; retries on another port when
 * the chosen one was taken between the check and the bind (another run picking the same one).
 */
async function startNode(
  label: string,
  args: (port: number, dir: string) => Promise<string[]> | string[],
  options: { bus?: boolean; ready?: string } = {},
): Promise<RedisNode> {
  const dir = await mkdtemp(join(tmpdir(), `oms-redis-${label}-`));
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort(options.bus ?? false);
    try {
      return await spawnOnPort(
        port,
        await args(port, dir),
        options.ready ?? 'Ready to accept connections',
        dir,
      );
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 5) throw error;
    }
  }
}

/** The flags every data node gets: loopback only, nothing on disk but its own dir. */
function nodeArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no'];
}

async function stopNodes(nodes: readonly RedisNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.kill()));
  await Promise.all(
    [...new Set(nodes.map((node) => node.dir))].map((dir) => rm(dir, { recursive: true, force: true })),
  );
}

/** Admin connections to the harness's own nodes, one per port, kept while a topology runs. */
class Admins {
  private readonly connections = new Map<number, Redis>();

  of(node: HostPort): Redis {
    let redis = this.connections.get(node.port);
    if (redis === undefined) {
      redis = new Redis({
        host: node.host,
        port: node.port,
        connectTimeout: 1000,
        commandTimeout: 2000,
        maxRetriesPerRequest: 0,
        retryStrategy: (attempt) => Math.min(attempt * 50, 500),
        // a socket to a killed node never closes cleanly; ioredis would wait 2 s before dropping it
        disconnectTimeout: 0,
      });
      redis.on('error', () => undefined); // a killed node: the polls see its commands fail
      this.connections.set(node.port, redis);
    }
    return redis;
  }

  async call(node: HostPort, command: string, ...args: (string | number)[]): Promise<unknown> {
    return this.of(node).call(command, ...args);
  }

  close(): void {
    for (const redis of this.connections.values()) redis.disconnect();
    this.connections.clear();
  }
}

/** INFO text as fields. */
function infoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

/** Polls `check` (a false or a failed call counts as not yet) every 50 ms, up to `timeoutMs`. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  await pollUntil(
    async () => {
      try {
        return await check();
      } catch {
        return false;
      }
    },
    timeoutMs,
    50,
    what,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster

export interface ClusterNodeView {
  readonly id: string;
  readonly port: number;
  readonly role: 'primary' | 'replica';
  /** the primary's id, for a replica */
  readonly primaryId: string | null;
  /** flagged fail or fail? by the node asked */
  readonly failing: boolean;
}

export interface RedisCluster {
  /** every process, primaries and replicas, in start order */
  readonly nodes: readonly RedisNode[];
  /** the addresses an ioredis Cluster starts from */
  readonly startupNodes: readonly HostPort[];
  /** "127.0.0.1:P1,127.0.0.1:P2,…", the form REDIS_CLUSTER_NODES takes */
  readonly nodesEnv: string;
  /** cluster-node-timeout: how long a silent primary takes to be failed over */
  readonly nodeTimeoutMs: number;
  /** CLUSTER NODES as a live node sees it */
  view(): Promise<ClusterNodeView[]>;
  /** The live primaries (by the view of a live node). */
  primaries(): Promise<RedisNode[]>;
  /** The live replica of `primary`, if any. */
  replicaOf(primary: RedisNode): Promise<RedisNode | undefined>;
  /** CLUSTER KEYSLOT */
  keySlot(key: string): Promise<number>;
  /** The node that serves `slot` as primary now (CLUSTER SLOTS of a live node). */
  primaryForSlot(slot: number): Promise<RedisNode>;
  /**
   * Resolves once every live node says cluster_state:ok, all live nodes agree on who serves every slot and
   * each of those is alive, and every live replica's link to its primary is up. Polled, bounded.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** An admin connection (no key prefix) to one node, closed by stop(). */
  admin(node: HostPort): Redis;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** replicas per primary: 0 (three nodes) or 1 (three primaries and three replicas, for failover), default 0 */
  readonly replicas?: 0 | 1;
  /** cluster-node-timeout, default 1000 ms with replicas (a quick failover) and 5000 ms without */
  readonly nodeTimeoutMs?: number;
}

type SlotRange = [number, number, [string, number, string?, ...unknown[]], ...unknown[]];

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? (replicas > 0 ? 1000 : 5000);
  const count = 3 * (1 + replicas);
  const nodes = await Promise.all(
    Array.from({ length: count }, () =>
      startNode(
        'cluster',
        (port, dir) => [
          ...nodeArgs(port, dir),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          // a replica takes over however long it was cut off: the tests kill primaries on purpose
          '--cluster-replica-validity-factor',
          '0',
        ],
        { bus: true },
      ),
    ),
  );
  const admins = new Admins();
  const byPort = new Map(nodes.map((node) => [node.port, node]));
  const live = (): RedisNode[] => nodes.filter((node) => node.alive());
  const anyLive = (): RedisNode => {
    const node = live()[0];
    if (node === undefined) throw new Error('every cluster node is down');
    return node;
  };
  const nodeAt = (port: number): RedisNode => {
    const node = byPort.get(port);
    if (node === undefined) throw new Error(`no harness node on port ${port}`);
    return node;
  };
  const slotsOf = async (node: RedisNode): Promise<string> => {
    const ranges = (await admins.call(node, 'CLUSTER', 'SLOTS')) as SlotRange[];
    return ranges
      .map(([start, end, [, port]]) => `${start}-${end}@${port}`)
      .sort()
      .join(' ');
  };

  const cluster: RedisCluster = {
    nodes,
    startupNodes: nodes.slice(0, 3).map(({ host, port }) => ({ host, port })),
    nodesEnv: nodes
      .slice(0, 3)
      .map((node) => node.address)
      .join(','),
    nodeTimeoutMs,
    view: async () => {
      const text = (await admins.call(anyLive(), 'CLUSTER', 'NODES')) as string;
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [id = '', address = '', flags = '', primaryId = '-'] = line.split(' ');
          const port = Number(address.split('@')[0]?.split(':')[1]);
          const flagList = flags.split(',');
          return {
            id,
            port,
            role: flagList.includes('master') ? ('primary' as const) : ('replica' as const),
            primaryId: primaryId === '-' ? null : primaryId,
            failing: flagList.includes('fail') || flagList.includes('fail?'),
          };
        });
    },
    primaries: async () =>
      (await cluster.view())
        .filter((entry) => entry.role === 'primary' && !entry.failing)
        .map((entry) => nodeAt(entry.port))
        .filter((node) => node.alive()),
    replicaOf: async (primary) => {
      const view = await cluster.view();
      const primaryId = view.find((entry) => entry.port === primary.port)?.id;
      const replica = view.find((entry) => entry.primaryId === primaryId && !entry.failing);
      return replica === undefined ? undefined : nodeAt(replica.port);
    },
    keySlot: async (key) => (await admins.call(anyLive(), 'CLUSTER', 'KEYSLOT', key)) as number,
    primaryForSlot: async (slot) => {
      const ranges = (await admins.call(anyLive(), 'CLUSTER', 'SLOTS')) as SlotRange[];
      const range = ranges.find(([start, end]) => start <= slot && slot <= end);
      if (range === undefined) throw new Error(`no node serves slot ${slot}`);
      return nodeAt(range[2][1]);
    },
    waitHealthy: (timeoutMs = 30_000) =>
      waitFor('a healthy cluster (cluster_state:ok, one slot map, replicas linked)', timeoutMs, async () => {
        const nodesUp = live();
        for (const node of nodesUp) {
          const info = infoFields((await admins.call(node, 'CLUSTER', 'INFO')) as string);
          if (info.cluster_state !== 'ok' || info.cluster_slots_assigned !== '16384') return false;
          const replication = infoFields((await admins.call(node, 'INFO', 'replication')) as string);
          if (replication.role === 'slave' && replication.master_link_status !== 'up') return false;
        }
        const maps = await Promise.all(nodesUp.map(slotsOf));
        if (new Set(maps).size !== 1) return false;
        // every slot's primary is one of the live processes
        return (maps[0] ?? '')
          .split(' ')
          .every((range) => byPort.get(Number(range.split('@')[1]))?.alive() === true);
      }),
    admin: (node) => admins.of(node),
    stop: async () => {
      admins.close();
      await stopNodes(nodes);
    },
  };
  try {
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => node.address),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

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
    return [
      ...nodeArgs(0, dir),
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certs.serverCertFile,
      '--tls-key-file',
      certs.serverKeyFile,
      '--tls-ca-cert-file',
      certs.caFile,
      '--tls-auth-clients',
      'optional',
    ];
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
 * Every command the gateway sends, found by reading the code and confirmed by the ACL test (the whole reset
 * flow and the CLI as this user, with an empty ACL LOG): ioredis's handshake (CLIENT SETNAME, the INFO of its
 * ready check; HELLO, AUTH and QUIT need no permission), the commands called from TypeScript, the scripts (EVALSHA, EVAL when the script cache
 * is cold, SCRIPT LOAD) and every redis.call inside them. docs/operations.md shows the same list.
 */
export const GATEWAY_ACL_COMMANDS: readonly string[] = [
  // the connection: ioredis's handshake and ready check, /readyz, the revocation subscriber
  'ping',
  'info',
  'client|setname',
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
  // the replicas' acknowledgement of a reset's final writes (REDIS_WAIT_REPLICAS)
  'wait',
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
  try {
    if (wanted.has('cluster')) {
      const cluster = await startRedisCluster();
      stops.push(() => cluster.stop());
      env.TEST_REDIS_CLUSTER_NODES = cluster.nodesEnv;
    }
    if (wanted.has('sentinel')) {
      const sentinel = await startRedisSentinel();
      stops.push(() => sentinel.stop());
      env.TEST_REDIS_SENTINELS = sentinel.sentinelsEnv;
      env.TEST_REDIS_SENTINEL_NAME = sentinel.name;
    }
  } catch (error) {
    await stopAll();
    throw error;
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
