// Runs the real gateway entry point (gateway/main.ts) as a child process (bundled by ./bundle), so tests can
// send it signals, kill it, and read its exit code and stdout.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { bundleEntry, processEnv, ROOT } from './bundle';

const running = new Set<ChildProcess>();

/** Kills every gateway process a test started and did not stop (call in afterEach). */
export async function killGatewayProcesses(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Every JSON line it printed to stdout, parsed. */
  readonly lines: Record<string, unknown>[];
  readonly stderr: () => string;
  /** Resolves with the first stdout line that matches (past or future). */
  waitForLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

export interface SpawnOptions {
  /** the process's open-files limit (`ulimit -n` in a shell that then execs node); default the test runner's */
  readonly openFiles?: number;
}

export async function spawnGateway(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<GatewayProcess> {
  const main = await bundleEntry('gateway/main.ts');
  const [command, args] =
    options.openFiles === undefined
      ? [process.execPath, [main]]
      : ['bash', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, process.execPath, main]];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: processEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines: Record<string, unknown>[] = [];
  const waiters: {
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const text of complete) {
      if (text.trim() === '') continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine: (match) => {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void exited.then((code) => reject(new Error(`gateway exited (${code}) first; stderr: ${stderr}`)));
      });
    },
  };
}

/** Starts the process (in development mode unless `env` says `OMS_DEV: ''`) and resolves once it listens, with its port. */
export async function startGatewayProcess(
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<GatewayProcess & { port: number }> {
  const started = await spawnGateway(
    {
      OMS_DEV: '1',
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      ...env,
    },
    options,
  );
  const listening = await started.waitForLine((line) => line.msg === 'gateway listening');
  return { ...started, port: listening.port as number };
}
