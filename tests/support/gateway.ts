// Starts a real gateway on an ephemeral port for a test, with its logs captured, and closes it.
import { loadConfig } from '../../gateway/config';
import type { Config, Env } from '../../gateway/config';
import { createGateway } from '../../gateway/server';
import type { Gateway, GatewayDeps } from '../../gateway/server';
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

export async function startGateway(env: Env = {}, deps: GatewayDeps = {}): Promise<TestGateway> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env });
  const logs = captureLogs();
  const gateway = createGateway(config, { logger: logs.logger, ...deps });
  const address = await gateway.listen();
  return {
    gateway,
    config,
    logs,
    wsUrl: `ws://127.0.0.1:${address.port}/WSGateway`,
    httpUrl: `http://127.0.0.1:${address.port}`,
    close: () => gateway.close(),
  };
}
