// `node dist/load/versus-minimal.js [C K S ROUNDS]`: the load tool's single worker against the minimal ws loader,
// both on the bare echo server (bench/server-child.ts baseline) in its own process, rounds interleaved.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { runMinimalLoader } from './minimal-loader';
import { runLoad } from './runner';
import { pingScenario } from './scenarios/ping';

async function startEcho(): Promise<{ port: number; stop(): void }> {
  const child = fork(join(__dirname, '..', 'bench', 'server-child.js'), ['baseline'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { type: string; port?: number }) =>
      message.type === 'ready' ? resolve(message.port!) : reject(new Error(JSON.stringify(message))),
    );
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  return { port, stop: () => child.send({ type: 'stop' }) };
}

async function main(): Promise<void> {
  const [connections = 50, inflight = 10, durationS = 5, rounds = 3] = process.argv.slice(2).map(Number);
  const echo = await startEcho();
  const url = `ws://127.0.0.1:${echo.port}/`;
  const tool: number[] = [];
  const minimal: number[] = [];
  const toolCpu: number[] = [];
  const minimalCpu: number[] = [];
  /** this process's CPU µs (user + system) while `run` ran, per call */
  const cpuPerCall = async <T>(run: () => Promise<T>, calls: (result: T) => number): Promise<[T, number]> => {
    const before = process.cpuUsage();
    const result = await run();
    const used = process.cpuUsage(before);
    return [result, (used.user + used.system) / Math.max(1, calls(result))];
  };
  try {
    for (let round = 0; round < rounds; round++) {
      const [m, mCpu] = await cpuPerCall(
        () => runMinimalLoader({ url, connections, inflight, durationS }),
        (r) => r.calls,
      );
      const [report, tCpu] = await cpuPerCall(
        () => runLoad({ url, scenario: pingScenario, connections, inflight, durationS }),
        (r) => r.totals.calls,
      );
      minimal.push(m.callsPerSecond);
      tool.push(report.totals.callsPerSecond);
      minimalCpu.push(mCpu);
      toolCpu.push(tCpu);
      process.stdout.write(
        `round ${round + 1}: minimal ${Math.round(m.callsPerSecond)} calls/s ${mCpu.toFixed(2)} µs CPU/call, ` +
          `load tool ${Math.round(report.totals.callsPerSecond)} calls/s ${tCpu.toFixed(2)} µs CPU/call, ` +
          `calls/s ratio ${(report.totals.callsPerSecond / m.callsPerSecond).toFixed(3)}\n`,
      );
    }
  } finally {
    echo.stop();
  }
  const best = (values: number[]): number => Math.max(...values);
  const least = (values: number[]): number => Math.min(...values);
  process.stdout.write(
    `${connections}×${inflight}, ${durationS} s × ${rounds}: best minimal ${Math.round(best(minimal))} calls/s, ` +
      `best load tool ${Math.round(best(tool))} calls/s, ratio ${(best(tool) / best(minimal)).toFixed(3)}; ` +
      `CPU per call minimal ${least(minimalCpu).toFixed(2)} µs, load tool ${least(toolCpu).toFixed(2)} µs, ` +
      `ratio (minimal ÷ load tool) ${(least(minimalCpu) / least(toolCpu)).toFixed(3)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
