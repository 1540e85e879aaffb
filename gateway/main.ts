// The gateway process: config from the environment (and --dev), listen, and a graceful exit on SIGTERM/SIGINT.
// With WORKERS > 1 this process is the cluster's primary (workers.ts) and each worker runs the gateway.
import { ConfigError, loadConfig } from './config';
import { loadStartupUsers } from './stores/seed-users';
import { createLogger } from './logger';
import { isLoopbackAddress } from './server/loopback';
import { createGateway } from './create-gateway';
import { isWorkerProcess, runPrimary, serveMetricsToPrimary, workerLogger } from './workers';

async function main(): Promise<void> {
  let config;
  try {
    // `--dev` (npm start, `oms-gateway serve --dev`) is development mode, as OMS_DEV=1
    config = loadConfig(undefined, { dev: process.argv.slice(2).includes('--dev') });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`oms-gateway: ${error.message}\n`);
    process.exit(2);
  }
  if (config.scale.workers > 1 && !isWorkerProcess()) {
    runPrimary(config, createLogger(config.logLevel));
    return;
  }
  const logger = workerLogger(createLogger(config.logLevel));
  const worker = isWorkerProcess();
  const gateway = createGateway(config, { logger, metricsListener: !worker });
  if (worker) serveMetricsToPrimary(gateway.metrics.registry);
  await loadStartupUsers(gateway.services.store, gateway.services.hasher, config, logger);
  const address = await gateway.listen();
  logger.info(
    { host: address.address, port: address.port, store: gateway.services.store.kind },
    'gateway listening',
  );
  const metricsAddress = gateway.metricsAddress();
  if (metricsAddress !== null) {
    logger.info({ host: metricsAddress.address, port: metricsAddress.port }, 'metrics listening');
    if (config.metrics.token === null && !isLoopbackAddress(config.metrics.host)) {
      logger.warn(
        'metrics listen beyond loopback without METRICS_TOKEN: anyone who reaches METRICS_PORT can read them',
      );
    }
  }
  if (config.dev) {
    logger.warn(
      'development mode: demo users, the dev outbox (GET /dev/outbox) and reset links in the log; never expose this gateway',
    );
  }
  if (gateway.services.store.kind === 'memory') {
    logger.warn(
      'embedded in-memory store: single process, keeps nothing across restarts; set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS for production',
    );
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `oms-gateway: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
