// Real redis-server processes on free loopback ports, each with its own temp dir and stopped by pid, and a Cluster
// of them (3 primaries, or 3 + 3 replicas); shared by tests/ (tests/support/redis-topology.ts builds its Sentinel,
// TLS and ACL setups on these) and bench/ (the reset rows on a cluster).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pollUntil } from './poll-until';

const run = promisify(execFile);
export const HOST = '127.0.0.1';

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
export async function startNode(
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

/** The PEM files a node that speaks TLS shows and trusts. */
export interface TlsFiles {
  readonly caFile: string;
  /** what the node shows its clients: it must name 127.0.0.1 */
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * A data node that speaks TLS only (no plain port), on `port`; `authClients` is its tls-auth-clients: whether a
 * client must show a certificate the CA signed ('yes'), may ('optional') or need not ('no').
 */
export function tlsNodeArgs(
  port: number,
  dir: string,
  tls: TlsFiles,
  authClients: 'yes' | 'optional' | 'no',
): string[] {
  return [
    ...nodeArgs(0, dir),
    '--tls-port',
    String(port),
    '--tls-cert-file',
    tls.certFile,
    '--tls-key-file',
    tls.keyFile,
    '--tls-ca-cert-file',
    tls.caFile,
    '--tls-auth-clients',
    authClients,
  ];
}

/**
 * A cluster node that speaks TLS only, to clients, replicas and the cluster bus; clients need not show a
 * certificate of their own, but the nodes show theirs to each other.
 */
function tlsClusterNodeArgs(port: number, dir: string, tls: ClusterTls): string[] {
  return [
    ...tlsNodeArgs(port, dir, tls, 'no'),
    '--tls-client-cert-file',
    tls.clientCertFile,
    '--tls-client-key-file',
    tls.clientKeyFile,
    '--tls-cluster',
    'yes',
    '--tls-replication',
    'yes',
  ];
}

/** The flags every data node gets: loopback only, nothing on disk but its own dir. */
export function nodeArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no'];
}

export async function stopNodes(nodes: readonly RedisNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.kill()));
  await Promise.all(
    [...new Set(nodes.map((node) => node.dir))].map((dir) => rm(dir, { recursive: true, force: true })),
  );
}

/** Admin connections to the harness's own nodes, one per port, kept while a topology runs. */
export class Admins {
  private readonly connections = new Map<number, Redis>();

  /** `tls`: the CA (PEM text) the nodes' certificates are signed by, when they speak TLS only */
  constructor(private readonly tls: { readonly ca: string } | null = null) {}

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
        ...(this.tls && { tls: { ca: this.tls.ca } }),
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
export function infoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

/** Polls `check` (a false or a failed call counts as not yet) every 50 ms, up to `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
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

/** A TLS cluster's PEM files. */
export interface ClusterTls extends TlsFiles {
  /** what each node shows another on the cluster bus and to its primary, which check it (clientAuth) */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface RedisClusterOptions {
  /** replicas per primary: 0 (three nodes) or 1 (three primaries and three replicas, for failover), default 0 */
  readonly replicas?: 0 | 1;
  /** cluster-node-timeout, default 1000 ms with replicas (a quick failover) and 5000 ms without */
  readonly nodeTimeoutMs?: number;
  /** TLS only, between clients and nodes and on the cluster bus, with these PEM files; default plain TCP */
  readonly tls?: ClusterTls;
}

type SlotRange = [number, number, [string, number, string?, ...unknown[]], ...unknown[]];

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const replicas = options.replicas ?? 0;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? (replicas > 0 ? 1000 : 5000);
  const count = 3 * (1 + replicas);
  const tls = options.tls ?? null;
  const nodes = await Promise.all(
    Array.from({ length: count }, () =>
      startNode(
        'cluster',
        (port, dir) => [
          ...(tls ? tlsClusterNodeArgs(port, dir, tls) : nodeArgs(port, dir)),
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
  const admins = new Admins(tls && { ca: await readFile(tls.caFile, 'utf8') });
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
        ...(tls ? ['--tls', '--cacert', tls.caFile] : []),
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
