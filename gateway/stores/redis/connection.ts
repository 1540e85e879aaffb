// The connection to Redis (ioredis) in each topology (one node, a Cluster, a Sentinel-watched primary): options, TLS,
// the ACL user, the outage handling every call shares, the replicas' acknowledgement (WAIT), and its logging.
import { Cluster, Redis } from 'ioredis';
import type { Command, RedisOptions as ConnectionOptions } from 'ioredis';
import type { RedisAuth, RedisTls, RedisTopology, ReplicaWait } from '../../config';
import type { Logger } from '../../logger';
import { isCluster } from './scripts';
import type { RedisClient } from './scripts';
import { DuplicateUserError, StoreUnavailableError } from '../../../core/ports/store';

export interface RedisOptions {
  /** one node (its redis:// or rediss:// URL may carry an ACL user and password: never logged), a cluster or Sentinels */
  readonly topology: RedisTopology;
  /** prefix of every key, default "oms:" */
  readonly prefix: string;
  /** bound on one command, so an outage answers instead of hanging */
  readonly commandTimeoutMs: number;
  /** the CA, client certificate and key with TLS (PEM text); absent or null: none, or the system's CAs */
  readonly tls?: RedisTls | null;
  /** REDIS_USERNAME/REDIS_PASSWORD on every node (and not the Sentinels); absent or null: none or the URL's */
  readonly auth?: RedisAuth | null;
  /** replicas a reset's final writes wait for (WAIT); absent or null: none */
  readonly replicaWait?: ReplicaWait | null;
}

/** One node at `url`: the topology most tests and the bench use. */
export function singleNode(url: string): RedisTopology {
  return { kind: 'single', url };
}

/** What every connection to a node shares (commands, subscriber): TLS, the ACL user, the handshake's commands. */
export function sharedConnectionOptions(
  options: RedisOptions,
): Pick<ConnectionOptions, 'tls' | 'disableClientInfo' | 'username' | 'password'> {
  return {
    // a copy: node:tls may write to the object it is given, and the config is frozen
    ...(options.tls && { tls: { ...options.tls } }),
    ...(options.auth?.username !== undefined && { username: options.auth.username }),
    ...(options.auth && { password: options.auth.password }),
    // no CLIENT SETINFO (Redis 7.2+): the minimal ACL then works on 7.0 too; CLIENT SETNAME names the connection
    disableClientInfo: true,
  };
}

const retryStrategy = (attempt: number): number => Math.min(attempt * 100, 2000);

/**
 * A primary that became a replica (a failover the client has not seen yet, or a managed Redis that moved its
 * endpoint) answers writes with READONLY: reconnect, which finds the new primary, and resend the command.
 */
const reconnectOnReadOnly = (error: Error): 2 | false => (error.message.startsWith('READONLY') ? 2 : false);

/** A Sentinel-watched primary: the Sentinels name it, and say when a failover moved it (failoverDetector). */
function sentinelOptions(
  topology: Extract<RedisTopology, { kind: 'sentinel' }>,
  options: RedisOptions,
): ConnectionOptions {
  return {
    sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
    name: topology.name,
    role: 'master',
    ...(topology.sentinelPassword !== null && { sentinelPassword: topology.sentinelPassword }),
    // TLS to the primary and, the same way, to the Sentinels
    ...(options.tls && { enableTLSForSentinelMode: true, sentinelTLS: { ...options.tls } }),
    failoverDetector: true,
    sentinelRetryStrategy: retryStrategy,
  };
}

/** ioredis's cluster options, as its constructor takes them. */
type ClusterOptions = NonNullable<ConstructorParameters<typeof Cluster<'legacy'>>[1]>;

/** The options every node of a cluster gets (ioredis's single-node options less the cluster's own). */
type NodeOptions = NonNullable<ClusterOptions['redisOptions']>;

/**
 * A Cluster client that bounds every command by `timeoutMs` from the moment it is issued. ioredis bounds a
 * command only once a node's socket takes it; while the whole cluster is away, commands would wait in the
 * cluster's offline queue for as long as the outage lasts, and the caller would hang instead of getting a 102.
 */
class BoundedCluster extends Cluster {
  constructor(
    nodes: ConstructorParameters<typeof Cluster>[0],
    options: ClusterOptions,
    private readonly timeoutMs: number,
  ) {
    super(nodes, options);
  }

  /** When each command was first issued. */
  private readonly issuedAt = new WeakMap<Command, number>();

  override sendCommand(...args: Parameters<Cluster['sendCommand']>): ReturnType<Cluster['sendCommand']> {
    const [command] = args;
    const now = Date.now();
    const issuedAt = this.issuedAt.get(command) ?? now;
    this.issuedAt.set(command, issuedAt);
    // A pipeline (every auto-pipelined command) whose node closed its connection, as a killed primary's does,
    // sends the same commands again up to 16 times, 100 ms apart, each time with its timer cleared: each resend
    // gets what is left of the bound, or a call would wait seconds, not the bound, before its 102. A command's
    // first timer wins: the node's own commandTimeout then no longer restarts it.
    command.setTimeout(Math.max(1, issuedAt + this.timeoutMs - now));
    return super.sendCommand(...args);
  }
}

/**
 * A cluster client: the startup nodes, every node with the same per-node options. A refresh of the slot map is
 * bounded by `timeoutMs`, each command by `commandTimeoutMs` from the moment it is issued (null: not bounded).
 */
function connectCluster(
  topology: Extract<RedisTopology, { kind: 'cluster' }>,
  nodeOptions: NodeOptions,
  extra: ClusterOptions,
  timeoutMs: number,
  commandTimeoutMs: number | null = timeoutMs,
): Cluster {
  const nodes = topology.nodes.map(({ host, port }) => ({ host, port }));
  const options: ClusterOptions = {
    // reads go to the primaries too: a replica may lag behind a write this gateway just made
    scaleReads: 'master',
    // the slot map is refreshed every second: after a failover it names the promoted replica within about that
    slotsRefreshInterval: 1000,
    slotsRefreshTimeout: timeoutMs,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    clusterRetryStrategy: retryStrategy,
    // the nodes' addresses as the cluster announces them (a TLS certificate names those, not a resolved IP)
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: nodeOptions,
    ...extra,
  };
  const cluster =
    commandTimeoutMs === null
      ? new Cluster(nodes, options)
      : new BoundedCluster(nodes, options, commandTimeoutMs);
  // the pool makes each node's client lazily, so this comes before its first socket
  cluster.on('+node', (node: Redis) => guardSockets(node));
  return cluster;
}

/** What a guarded socket's extra 'error' listener does: nothing; ioredis's own listener hears the first error. */
const ignore = (): void => undefined;

/**
 * ioredis listens for its socket's 'error' once (Redis.connect, the connectors): a TLS socket that fails twice
 * (the certificate refused, then the server's alert about it) threw the second error and ended the process. Every
 * socket this client opens gets a listener of its own; the first error still reaches ioredis, which reconnects.
 * Wraps the connector, which opens a socket on each connect, so the client must not have connected yet.
 */
function guardSockets<T extends Redis>(redis: T): T {
  const { connector } = redis as unknown as {
    connector: { connect(...args: unknown[]): Promise<NodeJS.EventEmitter> };
  };
  const connect = connector.connect.bind(connector);
  connector.connect = async (...args) => {
    const stream = await connect(...args);
    stream.on('error', ignore);
    return stream;
  };
  return redis;
}

/** Clients this process closed (closeRedis, disconnectRedis): their 'end' is final. */
const closedOnPurpose = new WeakSet<RedisClient>();

/** How long a client that ioredis gave up on waits before it connects again. */
const RESTART_AFTER_END_MS = 500;

/**
 * ioredis gives a client up for good ('end') when its connector fails a connect instead of retrying: a Sentinel
 * failover does that when +switch-master arrives while the client is already reconnecting (the detector's
 * disconnect makes the connect in flight fail), and every call then answered 102 until a restart. A client this
 * process did not close starts again by itself.
 */
function restartWhenEnded(redis: Redis): void {
  redis.on('end', () => {
    if (closedOnPurpose.has(redis)) return;
    setTimeout(() => {
      if (!closedOnPurpose.has(redis)) redis.connect().catch(ignore);
    }, RESTART_AFTER_END_MS).unref();
  });
}

/** A Redis client on one node or a Sentinel-watched primary, its sockets guarded, connecting at once. */
function connectNode(url: string | null, options: ConnectionOptions): Redis {
  const lazy = { ...options, lazyConnect: true };
  const redis = guardSockets(url === null ? new Redis(lazy) : new Redis(url, lazy));
  restartWhenEnded(redis);
  // a failed first connect is an outage like any other: the client retries, and commands answer 102 meanwhile
  redis.connect().catch(ignore);
  return redis;
}

/** A connection that fails commands quickly while Redis is away and reconnects by itself. */
export function connectRedis(options: RedisOptions, name: string): RedisClient {
  const { topology } = options;
  const perNode: NodeOptions = {
    ...sharedConnectionOptions(options),
    connectionName: name,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    // a command waits for one reconnect at most, then fails: callers get a 102 instead of a hang
    maxRetriesPerRequest: 1,
    reconnectOnError: reconnectOnReadOnly,
  };
  if (topology.kind === 'cluster') {
    return connectCluster(
      topology,
      perNode,
      { keyPrefix: options.prefix, enableAutoPipelining: true },
      options.commandTimeoutMs,
    );
  }
  const common: ConnectionOptions = {
    ...perNode,
    keyPrefix: options.prefix,
    retryStrategy,
    // commands issued in one event-loop turn (one call's independent reads, many connections' calls) leave
    // in one write: one round trip instead of one each
    enableAutoPipelining: true,
  };
  return topology.kind === 'single'
    ? connectNode(topology.url, common)
    : connectNode(null, { ...common, ...sentinelOptions(topology, options) });
}

/**
 * The revocations' subscriber: unlike the command connection, its SSUBSCRIBE waits for Redis however long it
 * is away (nobody waits on it but whenListening(), and a subscription lost at start-up would never be retried).
 * On a cluster it subscribes on the node that owns the sharded channel's slot, and follows it through a failover.
 */
export function connectSubscriber(options: RedisOptions, name: string): RedisClient {
  const { topology } = options;
  const perNode: NodeOptions = {
    ...sharedConnectionOptions(options),
    connectionName: name,
    connectTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: null,
  };
  if (topology.kind === 'cluster') {
    // no bound on its commands: a pending SSUBSCRIBE's timer (it would have to outlast any outage) kept a closed
    // gateway's process alive when the cluster never answered
    return connectCluster(topology, perNode, { shardedSubscribers: true }, options.commandTimeoutMs, null);
  }
  const common: ConnectionOptions = { ...perNode, retryStrategy };
  return topology.kind === 'single'
    ? connectNode(topology.url, common)
    : connectNode(null, { ...common, ...sentinelOptions(topology, options) });
}

/** Closes a connection politely when Redis answers, at once when it does not. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  closedOnPurpose.add(redis);
  await redis.quit().catch(() => undefined);
  // after QUIT, since ioredis's quit() leaves the Sentinel failover detector's subscriptions open (ioredis#1362),
  // which would keep a stopped gateway's process alive; on a closed connection it only ends those
  redis.disconnect();
}

/** Ends a connection at once, without QUIT (a subscriber, whose pending commands nobody waits for). */
export function disconnectRedis(redis: RedisClient): void {
  closedOnPurpose.add(redis);
  redis.disconnect();
}

/** Redis Cluster's slot count: every key hashes to one of them. */
const CLUSTER_SLOTS = 16384;

/**
 * Whether the store can serve every user: on one node, PING; on a cluster, the cluster says cluster_state:ok and
 * the primary of every slot, as the client's slot map names it, answers PING. Throws StoreUnavailableError when not.
 */
export function checkReady(redis: RedisClient): Promise<void> {
  return guarded(async () => {
    if (!isCluster(redis)) {
      await redis.ping();
      return;
    }
    // from the slot map, not from the connected primaries alone: ioredis drops a node's connection once the node
    // is gone and adds it back at the next slot refresh, so the connected ones alone would answer ready for most
    // of the node timeout while a dead primary's slots have nobody to serve them
    const owners = new Set<string>();
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const primary = redis.slots[slot]?.[0];
      if (primary === undefined) throw new Error(`slot ${slot} has no primary in the slot map`);
      owners.add(primary);
    }
    const connected = new Map(redis.nodes('master').map((node) => [nodeKey(node), node]));
    const primaries = [...owners].map((key) => {
      const node = connected.get(key);
      if (node === undefined) throw new Error(`no connection to the primary at ${key}`);
      return node;
    });
    const [info] = await Promise.all([
      primaries[0]!.cluster('INFO'),
      ...primaries.map((node) => node.ping()),
    ]);
    if (!/^cluster_state:ok\b/m.test(info)) throw new Error('cluster_state is not ok');
  });
}

/** "host:port", as ioredis keys a cluster's nodes in its slot map. */
function nodeKey(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** WAIT gave fewer acknowledgements than REDIS_WAIT_REPLICAS asks: the write may not survive a failover. */
export class ReplicasUnconfirmedError extends StoreUnavailableError {
  constructor(wanted: number, got: number) {
    super(new Error(`WAIT: ${got} of ${wanted} replicas acknowledged in time`));
    this.name = 'ReplicasUnconfirmedError';
  }
}

/**
 * Waits until `wait.replicas` replicas have every write this connection made to the nodes of `keys` (WAIT counts
 * a connection's own writes). On a cluster each key's node gets its own WAIT, sent behind a read of that key so
 * that it goes to that node, on the connection that made the writes; on one node, one WAIT covers every key.
 * Fewer acknowledgements in time throw ReplicasUnconfirmedError (102): the caller must not answer true.
 */
export async function confirmReplicas(
  redis: RedisClient,
  wait: ReplicaWait,
  keys: readonly string[],
): Promise<void> {
  const args = [wait.replicas, wait.timeoutMs] as const;
  let counts: number[];
  if (isCluster(redis)) {
    const replies = await Promise.all(
      [...new Set(keys)].map((key) =>
        redis
          .pipeline()
          .exists(key)
          .call('WAIT', ...args)
          .exec(),
      ),
    );
    counts = replies.map((reply) => {
      const [error, count] = reply?.[1] ?? [new Error('WAIT: no reply')];
      if (error) throw error;
      return Number(count);
    });
  } else {
    counts = [Number(await redis.call('WAIT', ...args))];
  }
  const least = Math.min(...counts);
  if (least < wait.replicas) throw new ReplicasUnconfirmedError(wait.replicas, least);
}

/**
 * Runs a store operation; a connection failure (timeout, closed, retries exhausted) becomes
 * StoreUnavailableError (102 with a clear detail). A Redis reply error is a bug and passes through as is.
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof Error && error.name === 'ReplyError') throw error;
    if (error instanceof DuplicateUserError) throw error;
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(error);
  }
}

/** Logs a connection's errors once per outage (ioredis repeats them on every reconnect attempt). */
export function watchRedis(redis: RedisClient, logger: Logger, name: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.error({ redis: name, err: error }, 'redis connection lost; commands fail until it returns');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ redis: name }, 'redis connection restored');
  });
}
