// A benchmarked server in its own process (its RSS is its own; load generation does not share its event loop).
// Started by bench.ts with fork(); talks over IPC: ready {port} → stats/gc requests → stop.
import { loadConfig } from '../gateway/config';
import { createGateway } from '../gateway/server';
import { startBaselineServer } from './baseline-server';

export type ServerKind = 'baseline' | 'gateway-memory' | 'gateway-redis';

export type ParentMessage = { type: 'stats' } | { type: 'gc' } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'stats'; connections: number }
  | { type: 'gc-done' }
  | { type: 'error'; message: string };

interface Running {
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

async function start(kind: ServerKind, redisUrl: string | undefined): Promise<Running> {
  if (kind === 'baseline') return startBaselineServer();
  // the gateway as deployed, except: port 0, and warn-level logs (info logs one line per connect and close)
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL: kind === 'gateway-redis' ? redisUrl : undefined,
  });
  const gateway = createGateway(config);
  const address = await gateway.listen();
  return { port: address.port, connections: () => gateway.connections.size, close: () => gateway.close() };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  const running = await start(kind, process.env.BENCH_REDIS_URL);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') send({ type: 'stats', connections: running.connections() });
    else if (message.type === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'gc-done' });
    } else if (message.type === 'stop') {
      // exit normally (not kill) so that --cpu-prof writes its profile
      void running.close().finally(() => process.exit(0));
    }
  });
  send({ type: 'ready', port: running.port });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
