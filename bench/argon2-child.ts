// The argon2 ceiling: @node-rs/argon2 alone, with the gateway's parameters, keeping every threadpool slot busy.
// Run by bench.ts in its own process: `node argon2-child.js SECONDS MEMORY_KIB ITERATIONS PARALLELISM`.
import { hash } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (the package's const enum is ambient, which isolatedModules cannot read) */
const ARGON2ID = 2;

async function main(): Promise<void> {
  const [seconds, memoryCost, timeCost, parallelism] = process.argv.slice(2).map(Number);
  // the libuv threadpool runs the hashes: as many at once as it has threads (default 4)
  const slots = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const options = { algorithm: ARGON2ID, memoryCost, timeCost, parallelism };
  let hashes = 0;
  // one hash first, so the measured window holds no start-up
  await hash('warm-up password', options);
  const started = performance.now();
  const deadline = started + seconds! * 1000;
  await Promise.all(
    Array.from({ length: slots }, async (_, slot) => {
      while (performance.now() < deadline) {
        await hash(`bench password ${slot} ${hashes}`, options);
        hashes++;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ hashes, elapsedS, slots, hashesPerSecond: hashes / elapsedS })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`argon2 bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
