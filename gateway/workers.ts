// WORKERS > 1: the primary forks the gateway's worker processes on one port (node:cluster), restarts one that dies
// with a bounded backoff, serves their summed /metrics on METRICS_PORT, and on SIGTERM drains them all.
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Config } from './config';
import type { Logger } from './logger';
import { isLoopbackAddress } from './server/loopback';
import { createMetricsServer } from './server/metrics-server';

/** A worker that lived at least this long was not crash-looping: its restart is immediate. */
const STABLE_MS = 30_000;
/** The first delay of a crash loop, doubled on each quick death up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** What the primary allows a worker past SHUTDOWN_TIMEOUT_MS and CLOSE_TIMEOUT_MS to close its store and exit. */
const EXIT_GRACE_MS = 5000;

/** How long to wait before forking again after `failures` quick deaths in a row (0 for the first). */
export function restartDelayMs(failures: number): number {
  return failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1));
}

/** Whether this process is one of the primary's workers. */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** In a worker: the log lines say which worker (the cluster's id, new on each restart) and its pid. */
export function workerLogger(logger: Logger): Logger {
  return cluster.worker ? logger.child({ worker: cluster.worker.id, pid: process.pid }) : logger;
}

/** In a worker: answer the primary's requests for this registry's metrics (prom-client's cluster messages). */
export function serveMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // the constructor adds the worker's message listener; the instance itself is not needed here
  new AggregatorRegistry();
}

interface Slot {
  worker: Worker;
  startedAt: number;
  /** quick deaths in a row */
  failures: number;
}

/**
 * The primary: forks `config.scale.workers` workers (each runs main.ts's gateway), and never opens the store or
 * the main port itself (node:cluster's primary accepts and hands each connection to a worker in turn).
 */
export function runPrimary(config: Config, logger: Logger): void {
  const count = config.scale.workers;
  const own = new Registry();
  const restarts = new Counter({
    name: 'oms_worker_restarts_total',
    help: 'Worker processes the primary forked again after one died',
    registers: [own],
  });
  new Gauge({
    name: 'oms_workers',
    help: 'Worker processes running now (WORKERS is the target)',
    registers: [own],
    collect() {
      this.set(Object.keys(cluster.workers ?? {}).length);
    },
  });
  const aggregator = new AggregatorRegistry();
  const metricsServer =
    config.metrics.port === null
      ? null
      : createMetricsServer(
          { ...config.metrics, port: config.metrics.port },
          {
            contentType: aggregator.contentType,
            metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}`,
          },
          logger,
        );

  const slots = new Map<number, Slot>();
  let stopping = false;
  let everListened = false;
  let listening = 0;

  function fork(failures: number): void {
    const worker = cluster.fork();
    slots.set(worker.id, { worker, startedAt: Date.now(), failures });
  }

  cluster.on('listening', (worker, address) => {
    logger.info({ worker: worker.id, pid: worker.process.pid, port: address.port }, 'worker listening');
    listening++;
    if (!everListened && listening === count) {
      everListened = true;
      logger.info({ workers: count, port: address.port }, 'workers listening');
    }
  });

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker.id);
    slots.delete(worker.id);
    const fields = { worker: worker.id, pid: worker.process.pid, code, signal };
    if (stopping) {
      logger.info(fields, 'worker exited');
      if (slots.size === 0) finish();
      return;
    }
    if (!everListened) {
      // a start-up failure (a port in use, a bad seed file) repeats on every fork: stop as one process would
      logger.error(fields, 'worker failed to start; stopping the other workers');
      process.exitCode = 1;
      stop('worker failed');
      return;
    }
    const lived = Date.now() - (slot?.startedAt ?? 0);
    const failures = lived >= STABLE_MS ? 0 : (slot?.failures ?? 0);
    const delay = restartDelayMs(failures);
    logger.error({ ...fields, restartInMs: delay }, 'worker died; starting another');
    setTimeout(() => {
      if (stopping) return;
      restarts.inc();
      fork(failures + 1);
    }, delay);
  });

  let deadline: NodeJS.Timeout | undefined;
  function stop(signal: string): void {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: slots.size }, 'shutting down the workers');
    // each worker drains on its own SIGTERM (calls in flight, then 1001), bounded like a single process
    for (const { worker } of slots.values()) worker.process.kill('SIGTERM');
    deadline = setTimeout(
      () => {
        logger.error(
          { workers: slots.size },
          'workers still running after the shutdown timeout: killing them',
        );
        process.exitCode = 1;
        for (const { worker } of slots.values()) worker.process.kill('SIGKILL');
      },
      config.shutdownTimeoutMs + config.closeTimeoutMs + EXIT_GRACE_MS,
    );
    deadline.unref();
    if (slots.size === 0) finish();
  }

  let finished = false;
  function finish(): void {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    void (metricsServer?.close() ?? Promise.resolve()).then(() => {
      logger.info('gateway closed');
      process.exit();
    });
  }

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  metricsServer?.listen().then(
    (address) => {
      logger.info({ host: address.address, port: address.port }, 'metrics listening');
      if (config.metrics.token === null && !isLoopbackAddress(config.metrics.host)) {
        logger.warn(
          'metrics listen beyond loopback without METRICS_TOKEN: anyone who reaches METRICS_PORT can read them',
        );
      }
    },
    (error: unknown) => {
      logger.error({ err: error }, 'metrics listener failed');
      process.exitCode = 1;
      stop('metrics listener failed');
    },
  );
  logger.info({ workers: count }, 'starting workers');
  for (let index = 0; index < count; index++) fork(0);
}
