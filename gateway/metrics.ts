// Prometheus metrics (prom-client), one registry per gateway so several gateways can share a process (tests).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallOutcome } from '../protocol/dispatch';
import type { Logger } from './logger';

export interface Metrics {
  readonly registry: Registry;
  readonly connectionsOpen: Gauge;
  readonly connectionsTotal: Counter;
  /** Upgrades refused: max_connections, max_connections_per_address, handshake_rate, file_limit, shutting_down, origin. */
  readonly connectionsRefused: Counter<'reason'>;
  readonly calls: Counter<'function' | 'errorcode'>;
  readonly callSeconds: Histogram<'function'>;
  /** What the delivery loop did with a mail: sent, retry (later), rejected (4xx, dead-lettered), dead (out of attempts). */
  readonly mailDeliveries: Counter<'kind' | 'outcome'>;
}

/** What the gauges read at scrape time. */
export interface MetricsSources {
  /** mails queued on the store (due, leased or waiting to retry); rejects while the store is away */
  queuedMail(): Promise<number>;
  readonly hashes: { readonly running: number; readonly queued: number };
  /** resolves while the store answers a ping (bounded by the store's command timeout) */
  pingStore(): Promise<void>;
}

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  new Gauge({
    name: 'oms_mail_queue_depth',
    help: 'Mails queued on the store for every gateway sharing it (due, being sent, or waiting to retry)',
    registers: [registry],
    // every worker reads the same shared queue: summed over a cluster it would count each mail once per worker
    aggregator: 'max',
    async collect() {
      // while the store is away the last reading stays; /readyz says the store is down
      await sources.queuedMail().then(
        (depth) => this.set(depth),
        () => undefined,
      );
    },
  });
  new Gauge({
    name: 'oms_password_hashes',
    help: 'argon2id hashes of this gateway, running now or waiting for a slot (HASH_CONCURRENCY)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'running' }, sources.hashes.running);
      this.set({ state: 'queued' }, sources.hashes.queued);
    },
  });
  new Gauge({
    name: 'oms_store_up',
    help: 'Whether the store answered a ping at scrape time (1) or not (0)',
    registers: [registry],
    // over a cluster: 1 only if every worker reached it
    aggregator: 'min',
    async collect() {
      await sources.pingStore().then(
        () => this.set(1),
        () => this.set(0),
      );
    },
  });
  // includes nodejs_eventloop_lag_seconds and the event-loop delay percentiles
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return {
    registry,
    connectionsOpen: new Gauge({
      name: 'oms_connections_open',
      help: 'WebSocket connections open now',
      registers: [registry],
    }),
    connectionsTotal: new Counter({
      name: 'oms_connections_total',
      help: 'WebSocket connections accepted since start',
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'oms_connections_refused_total',
      help: 'WebSocket upgrades refused, by reason: max_connections, max_connections_per_address, handshake_rate, file_limit, shutting_down (503), origin (403)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    calls: new Counter({
      name: 'oms_calls_total',
      help: 'Calls answered, by function and errorcode (0 is success)',
      labelNames: ['function', 'errorcode'] as const,
      registers: [registry],
    }),
    callSeconds: new Histogram({
      name: 'oms_call_duration_seconds',
      help: 'Time from decoded frame to encoded reply, by function',
      labelNames: ['function'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    mailDeliveries: new Counter({
      name: 'oms_mail_deliveries_total',
      help: 'Mail sends by this gateway, by kind and outcome: sent, retry, rejected (not retried), dead (attempts exhausted)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/**
 * Counts and times every call by function and errorcode, and logs the failed ones (an unexpected error with its
 * stack); a name no handler has counts as "(unknown)", so the label set stays bounded.
 */
export function createCallRecorder(
  metrics: Metrics,
  logger: Logger,
  isKnown: (name: string) => boolean,
): (outcome: CallOutcome) => void {
  // prom-client's labelled children, made once per function (and errorcode): inc/observe with a labels object
  // hash the labels on every call, a few % of a Ping (bench profile). Bounded: unknown names count as '(unknown)'.
  const callCounters = new Map<string, { inc(): void }>();
  const callTimers = new Map<string, { observe(seconds: number): void }>();

  return function recordCall(outcome: CallOutcome): void {
    const name = isKnown(outcome.name) ? outcome.name : '(unknown)';
    const counterKey = `${name} ${outcome.errorcode}`;
    let counter = callCounters.get(counterKey);
    if (counter === undefined) {
      counter = metrics.calls.labels({ function: name, errorcode: String(outcome.errorcode) });
      callCounters.set(counterKey, counter);
    }
    counter.inc();
    let timer = callTimers.get(name);
    if (timer === undefined) {
      timer = metrics.callSeconds.labels({ function: name });
      callTimers.set(name, timer);
    }
    timer.observe(outcome.seconds);
    if (outcome.errorcode === 0) return;
    const fields = {
      conn: outcome.connection.id,
      transport: outcome.connection.transport,
      function: name,
      errorcode: outcome.errorcode,
      detail: outcome.detail,
      userId: outcome.caller?.userId,
    };
    if (outcome.unexpected !== undefined) logger.error({ ...fields, err: outcome.unexpected }, 'call failed');
    else logger.warn(fields, 'call failed');
  };
}
