// The Redis topologies the reset rows run on: the one node the bench starts anyway, a 3-primary cluster, and each
// with replicas and REDIS_WAIT_REPLICAS=1 (one node with a replica; 3 + 3); each node's pid, for its CPU.
import { Redis } from 'ioredis';
import { startRedisCluster, waitFor } from '../testing/redis-nodes';
import { startRedisServer } from '../testing/redis-server';
import type { RedisServer } from '../testing/redis-server';

export type TopologyName = 'single' | 'cluster' | 'single-wait' | 'cluster-wait';

/** --reset-on's default: every topology, the one node first (the others are held against it). */
export const TOPOLOGIES: readonly TopologyName[] = ['single', 'cluster', 'single-wait', 'cluster-wait'];

export const TOPOLOGY_LABELS: Readonly<Record<TopologyName, string>> = {
  single: 'one node',
  cluster: '3-primary cluster',
  'single-wait': 'one node + replica, WAIT 1',
  'cluster-wait': 'cluster 3+3, WAIT 1',
};

export interface BenchNode {
  readonly port: number;
  readonly pid: number;
  readonly role: 'primary' | 'replica';
}

export interface BenchTopology {
  readonly name: TopologyName;
  /** how the gateway and the bench reach it: REDIS_URL, or REDIS_CLUSTER_NODES naming every node */
  readonly redisEnv: Readonly<Record<string, string>>;
  /** what the gateway adds on top: REDIS_WAIT_REPLICAS for the topologies with replicas */
  readonly gatewayEnv: Readonly<Record<string, string>>;
  /** every redis-server process, primaries first */
  readonly nodes: readonly BenchNode[];
  stop(): Promise<void>;
}

/**
 * cluster-node-timeout: the bench wants no failover, and on 2 busy cores a node can miss the harness's quick
 * 1–5 s while a row saturates the machine
 */
const CLUSTER_NODE_TIMEOUT_MS = 30_000;

const WAIT_ONE = { REDIS_WAIT_REPLICAS: '1' };

function primariesFirst(nodes: BenchNode[]): BenchNode[] {
  return nodes.sort((a, b) => (a.role === b.role ? a.port - b.port : a.role === 'primary' ? -1 : 1));
}

/** The bench's own node, as the single topology. */
export function singleTopology(redis: RedisServer): BenchTopology {
  return {
    name: 'single',
    redisEnv: { REDIS_URL: redis.url },
    gatewayEnv: {},
    nodes: [{ port: redis.port, pid: redis.process.pid!, role: 'primary' }],
    // the bench stops its own node itself
    stop: () => Promise.resolve(),
  };
}

/** A node and its replica (REPLICAOF), linked before it returns. */
async function startPrimaryWithReplica(): Promise<BenchTopology> {
  const [primary, replica] = await Promise.all([startRedisServer(), startRedisServer()]);
  const admin = new Redis(replica.url, { maxRetriesPerRequest: 0 });
  try {
    // the initial sync straight into memory: loaded from disk it would leave a dump.rdb in the bench's folder
    await admin.config('SET', 'repl-diskless-load', 'on-empty-db');
    await admin.replicaof('127.0.0.1', primary.port);
    await waitFor('the replica linked to its primary', 20_000, async () =>
      /^master_link_status:up\r?$/m.test(await admin.info('replication')),
    );
  } catch (error) {
    await Promise.all([primary.stop(), replica.stop()]);
    throw error;
  } finally {
    admin.disconnect();
  }
  return {
    name: 'single-wait',
    redisEnv: { REDIS_URL: primary.url },
    gatewayEnv: WAIT_ONE,
    nodes: [
      { port: primary.port, pid: primary.process.pid!, role: 'primary' },
      { port: replica.port, pid: replica.process.pid!, role: 'replica' },
    ],
    stop: async () => {
      await Promise.all([primary.stop(), replica.stop()]);
    },
  };
}

async function startCluster(name: 'cluster' | 'cluster-wait'): Promise<BenchTopology> {
  const cluster = await startRedisCluster({
    replicas: name === 'cluster' ? 0 : 1,
    nodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS,
  });
  try {
    // the harness is healthy once the slots are served; a replica may still be turning from an empty primary, and
    // summing its INFO commandstats as a primary's would count what replication sends it
    const replicas = name === 'cluster' ? 0 : 3;
    const roles = new Map<number, BenchNode['role']>();
    await waitFor(`${replicas} replicas linked to their primaries`, 30_000, async () => {
      for (const node of cluster.nodes) {
        const info = await cluster.admin(node).info('replication');
        const replica = /^role:slave\r?$/m.test(info) && /^master_link_status:up\r?$/m.test(info);
        roles.set(node.port, replica ? 'replica' : 'primary');
      }
      return [...roles.values()].filter((role) => role === 'replica').length === replicas;
    });
    return {
      name,
      // every node, so the gateway's write counter (bench/server-child.ts) knows every port
      redisEnv: { REDIS_CLUSTER_NODES: cluster.nodes.map((node) => node.address).join(',') },
      gatewayEnv: name === 'cluster' ? {} : WAIT_ONE,
      nodes: primariesFirst(
        cluster.nodes.map((node) => ({
          port: node.port,
          pid: node.pid,
          role: roles.get(node.port) ?? 'primary',
        })),
      ),
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Starts `name` (the single topology is the bench's own node, `redis`). */
export function startTopology(name: TopologyName, redis: RedisServer): Promise<BenchTopology> {
  if (name === 'single') return Promise.resolve(singleTopology(redis));
  if (name === 'single-wait') return startPrimaryWithReplica();
  return startCluster(name);
}

/** "--reset-on single,cluster": the names, checked. */
export function parseTopologies(list: string): TopologyName[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(TOPOLOGIES as readonly string[]).includes(name)) {
      throw new Error(`--reset-on: unknown topology ${name} (${TOPOLOGIES.join(', ')})`);
    }
  }
  return names as TopologyName[];
}
