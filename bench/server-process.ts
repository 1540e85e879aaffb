// Process control: a benchmarked server (bench/server-child.ts) in a fresh child process, driven over IPC.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ChildMessage, ParentMessage, ServerKind } from './server-child';

/** A server child with a request/reply helper over IPC. */
export interface ServerProcess {
  readonly kind: ServerKind;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** when it listened (Date.now() in the child) */
  readonly listenedAt: number;
  /** its CPU time (user + system, µs) when it listened */
  readonly cpuAtListen: number;
  request<T extends ChildMessage['type']>(
    message: ParentMessage,
    reply: T,
  ): Promise<Extract<ChildMessage, { type: T }>>;
  stop(): Promise<void>;
  /** Sends SIGTERM, as a deploy does, and resolves when the process has exited. */
  terminate(): Promise<void>;
}

export async function startServer(
  kind: ServerKind,
  redisUrl: string,
  profileDir: string | undefined,
  gatewayEnv: Record<string, string> = {},
  childEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  const execArgv = ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const child: ChildProcess = fork(join(__dirname, 'server-child.js'), [kind], {
    execArgv,
    env: {
      ...process.env,
      ...childEnv,
      BENCH_REDIS_URL: redisUrl,
      BENCH_GATEWAY_ENV: JSON.stringify(gatewayEnv),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage): void => {
        if (message.type === 'error') reject(new Error(`${kind}: ${message.message}`));
        else if (message.type === type) resolve(message as Extract<ChildMessage, { type: T }>);
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
    });
  const ready = await Promise.race([
    next('ready'),
    exited.then(() => Promise.reject(new Error(`${kind} server exited before it was ready`))),
  ]);
  return {
    kind,
    pid: child.pid!,
    url: `ws://127.0.0.1:${ready.port}/WSGateway`,
    port: ready.port,
    listenedAt: ready.listenedAt,
    cpuAtListen: ready.cpuMicros,
    request: (message, reply) => {
      const answer = next(reply);
      child.send(message);
      return answer;
    },
    stop: async () => {
      child.send({ type: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    terminate: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
