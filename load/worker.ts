// A load worker thread (load/parallel.ts): runs its share of the connections and answers the primary's ticks.
import { parentPort, workerData } from 'node:worker_threads';
import { runLoad } from './runner';
import type { LiveRun } from './runner';
import type { FromWorker, ToWorker, WorkerShare } from './parallel';
import { loadScenario } from './scenario';
import { builtInScenarios } from './scenarios';

async function main(): Promise<void> {
  const port = parentPort!;
  const share = workerData as WorkerShare;
  const post = (message: FromWorker): void => port.postMessage(message);
  let go!: () => void;
  const goes = new Promise<void>((resolve) => (go = resolve));
  const run: { live: LiveRun | null } = { live: null };
  port.on('message', (message: ToWorker) => {
    const live = run.live;
    if (message.type === 'go') go();
    else if (live !== null) {
      post({
        type: 'window',
        seq: message.seq,
        window: live.stats.takeEncodedWindow(),
        inflight: live.inflight(),
      });
    }
  });
  const scenario = loadScenario(share.scenario, builtInScenarios, share.options.params ?? {});
  const report = await runLoad({
    ...share.options,
    scenario,
    waitToMeasure: () => {
      post({ type: 'ready' });
      return goes;
    },
    onMeasureStart: (live) => (run.live = live),
  });
  post({ type: 'done', report, steps: run.live?.stats.encode() ?? [] });
  port.close();
}

main().catch((error: unknown) => {
  parentPort?.postMessage({
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  } satisfies FromWorker);
});
