// Starts a real gateway on an ephemeral port for a test, with its logs captured, and closes it.
import { loadConfig } from '../../gateway/config';
import type { Config, Env } from '../../gateway/config';
import { createGateway } from '../../gateway/create-gateway';
import type { Gateway, GatewayDeps } from '../../gateway/create-gateway';
import { captureLogs } from './logs';
import type { LogCapture } from './logs';

export interface TestGateway {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly logs: LogCapture;
  /** ws://127.0.0.1:PORT/WSGateway */
  readonly wsUrl: string;
  /** http://127.0.0.1:PORT */
  readonly httpUrl: string;
  /** GET /metrics: on the METRICS_PORT listener, or on PORT in development mode without METRICS_PORT */
  readonly metricsUrl: string;
  close(): Promise<void>;
}

/** A unique Redis key prefix, so tests sharing one redis-server never see each other's keys. */
export function uniquePrefix(): string {
  return `t${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}:`;
}

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: the jest global setup starts a redis-server');
  return url;
}

/**
 * A gateway on port 0, in development mode unless `env` says `OMS_DEV: ''` (then production's variables are
 * needed: SENDGRID_API_KEY with MAIL_FROM, REDIS_URL, RESET_PAGE_URL), with metrics on a second port 0.
 */
export async function startGateway(env: Env = {}, deps: GatewayDeps = {}): Promise<TestGateway> {
  const config = loadConfig({
    OMS_DEV: '1',
    PORT: '0',
    METRICS_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs = captureLogs();
  const gateway = createGateway(config, { logger: logs.logger, ...deps });
  const address = await gateway.listen();
  const metricsPort = gateway.metricsAddress()?.port ?? address.port;
  return {
    gateway,
    config,
    logs,
    wsUrl: `ws://127.0.0.1:${address.port}/WSGateway`,
    httpUrl: `http://127.0.0.1:${address.port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    close: () => gateway.close(),
  };
}
