// argon2id password hashing with explicit parameters, on hash threads of lowered priority, with a bound on hashes
// in flight so a login or reset flood queues instead of exhausting memory or starving the event loop, and a
// bound on that queue (in total and per client address) so a flood is refused at once instead of queued.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HashQueueFullError } from '../core/ports/password-hasher';
import type { HashCaller, PasswordHasher } from '../core/ports/password-hasher';

export { HashQueueFullError };
export type { HashCaller, PasswordHasher };

/** `Algorithm.Argon2id`: the package's const enum is ambient, which isolatedModules cannot read. */
const ARGON2ID = 2;

/**
 * How much lower the hash threads' priority is than the process's (Linux nice, per thread; 19 at most).
 * At +10 a thread weighs about a tenth of a normal one, so the event loop (and Redis beside it) gets a core
 * as soon as it has work, and hashes use every cycle left over. Measured in the bench (docs/performance.md, README Performance):
 * Ping p99 during a ResetPassword2 flood 7–14 ms against 12–39 ms on the libuv threadpool, and more hashes/s.
 */
const HASH_THREAD_NICE_DELTA = 10;

export interface HasherOptions {
  /** memory per hash, default 19456 KiB */
  readonly memoryKib: number;
  /** passes, default 2 */
  readonly iterations: number;
  /** lanes, default 1 */
  readonly parallelism: number;
  /** hashes computed at once, default os.availableParallelism() (one per hash thread); more wait in line */
  readonly concurrency: number;
  /** callers' hashes waiting for a slot, in total, before more are refused; default unbounded */
  readonly queueMax?: number;
  /** one client address's hashes running or waiting before more from it are refused; default unbounded */
  readonly queueMaxPerAddress?: number;
}

/** A counting semaphore: at most `limit` holders; the rest wait in arrival order. */
function createSemaphore(limit: number): {
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly running: number;
  readonly queued: number;
} {
  let running = 0;
  const waiting: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (running < limit) {
      running++;
      return Promise.resolve();
    }
    // the slot is handed over by release(), so `running` stays counted
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      await acquire();
      try {
        return await work();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
  };
}

/**
 * The hash thread's code. A string, not a module file, so the same code runs from dist/ and under ts-jest (which
 * cannot start a worker from a .ts file). Why not @node-rs/argon2's async `hash` on the libuv threadpool: Node 20
 * names those threads like every other ("node"), so they cannot be found to lower their priority, and at equal
 * priority the hashes take the event loop's CPU. Here each thread lowers its own priority (its kernel thread id
 * from /proc/thread-self; Linux only, failing soft elsewhere) and then computes one hash at a time, synchronously.
 */
const HASH_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readlinkSync } = require('node:fs');
const { getPriority, setPriority } = require('node:os');
const { hashSync, verifySync } = require(workerData.argon2Path);
if (process.platform === 'linux') {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + workerData.niceDelta));
  } catch {
    // no /proc or not allowed: the hashes still run, at the process's priority
  }
}
parentPort.on('message', (job) => {
  try {
    const value = job.op === 'hash' ? hashSync(job.password, job.options) : verifySync(job.passwordHash, job.password);
    parentPort.postMessage({ ok: true, value });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
`;

type HashJob =
  | { readonly op: 'hash'; readonly password: string; readonly options: object }
  | { readonly op: 'verify'; readonly passwordHash: string; readonly password: string };

interface PendingJob {
  readonly job: HashJob;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The process's hash threads, shared by every hasher (like the libuv threadpool was): one per available core,
 * started on first use. Each runs one job at a time; jobs beyond that wait here in arrival order. A thread is
 * ref'd only while it works, so an idle pool never keeps the process alive and a running hash always does.
 */
function createHashThreads(size: number): { run(job: HashJob): Promise<unknown> } {
  const argon2Path = require.resolve('@node-rs/argon2');
  const idle: Worker[] = [];
  const waiting: PendingJob[] = [];
  const working = new Map<Worker, PendingJob>();
  let started = 0;

  const give = (worker: Worker, pending: PendingJob): void => {
    working.set(worker, pending);
    worker.ref();
    worker.postMessage(pending.job);
  };

  const next = (worker: Worker): void => {
    const pending = waiting.shift();
    if (pending) give(worker, pending);
    else {
      worker.unref();
      idle.push(worker);
    }
  };

  const start = (): Worker => {
    const worker = new Worker(HASH_THREAD_SOURCE, {
      eval: true,
      workerData: { argon2Path, niceDelta: HASH_THREAD_NICE_DELTA },
    });
    started++;
    worker.on('message', (reply: { ok: boolean; value?: unknown; message?: string }) => {
      const pending = working.get(worker);
      working.delete(worker);
      if (reply.ok) pending?.resolve(reply.value);
      else pending?.reject(new Error(reply.message));
      next(worker);
    });
    // a thread that dies (out of memory, a native crash Node catches) fails its one job and is replaced on demand
    let failure: Error | undefined;
    worker.on('error', (error) => (failure = error));
    worker.once('exit', () => {
      started--;
      const index = idle.indexOf(worker);
      if (index >= 0) idle.splice(index, 1);
      const pending = working.get(worker);
      working.delete(worker);
      pending?.reject(failure ?? new Error('hash thread exited'));
      const queued = waiting.shift();
      if (queued) give(start(), queued);
    });
    return worker;
  };

  return {
    run: (job) =>
      new Promise((resolve, reject) => {
        const pending = { job, resolve, reject };
        const worker = idle.pop() ?? (started < size ? start() : undefined);
        if (worker) give(worker, pending);
        else waiting.push(pending);
      }),
  };
}

let sharedHashThreads: ReturnType<typeof createHashThreads> | undefined;

function hashThreads(): ReturnType<typeof createHashThreads> {
  sharedHashThreads ??= createHashThreads(availableParallelism());
  return sharedHashThreads;
}

/** The first hash's duration guess, before one was measured (argon2id at OWASP's minimum on one core). */
const FIRST_HASH_MS_GUESS = 50;

export function createPasswordHasher(options: HasherOptions): PasswordHasher {
  const argon2Options = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib,
    timeCost: options.iterations,
    parallelism: options.parallelism,
  };
  const slots = createSemaphore(options.concurrency);
  const queueMax = options.queueMax ?? Infinity;
  const perAddressMax = options.queueMaxPerAddress ?? Infinity;
  /** Callers' hashes running or waiting, per address. */
  const inFlight = new Map<string, number>();
  /** A moving average of one hash's duration, for the retry-after of a refusal. */
  let hashMs = FIRST_HASH_MS_GUESS;
  let dummyHash: Promise<string> | undefined;

  /** The wait to suggest: the queue ahead drained by every slot at the measured pace, at least a second. */
  const retryAfterSeconds = (): number =>
    Math.max(1, Math.ceil(((slots.queued + slots.running) * hashMs) / options.concurrency / 1000));

  /** Takes a place for a caller's hash, or refuses at once; without a caller, always admitted. */
  const admitted = async <T>(caller: HashCaller | undefined, work: () => Promise<T>): Promise<T> => {
    if (caller === undefined) return work();
    const own = inFlight.get(caller.address) ?? 0;
    const waits = slots.running >= options.concurrency;
    if (own >= perAddressMax || (waits && slots.queued >= queueMax)) {
      throw new HashQueueFullError(retryAfterSeconds());
    }
    inFlight.set(caller.address, own + 1);
    try {
      return await work();
    } finally {
      const left = (inFlight.get(caller.address) ?? 1) - 1;
      if (left > 0) inFlight.set(caller.address, left);
      else inFlight.delete(caller.address);
    }
  };

  /** Runs one job in a slot and folds its duration into the average. */
  const timed = async <T>(job: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await job();
    } finally {
      hashMs = hashMs * 0.8 + (performance.now() - started) * 0.2;
    }
  };

  // NFKC on both sides: the same password typed on another keyboard or IME (full-width, composed
  // accents) must hash alike, and the reset rules count characters after the same normalisation
  const hashPassword = (password: string): Promise<string> =>
    slots.run(() =>
      timed(
        async () =>
          (await hashThreads().run({
            op: 'hash',
            password: password.normalize('NFKC'),
            options: argon2Options,
          })) as string,
      ),
    );
  const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
    slots.run(() =>
      timed(() =>
        hashThreads()
          .run({ op: 'verify', passwordHash, password: password.normalize('NFKC') })
          .then((matches) => matches === true)
          .catch(() => false),
      ),
    );

  return {
    hash: (password, caller) => admitted(caller, () => hashPassword(password)),
    verify: (passwordHash, password, caller) =>
      admitted(caller, () => verifyPassword(passwordHash, password)),
    verifyNothing: (password, caller) =>
      admitted(caller, async (): Promise<false> => {
        // computed once, with the current parameters, from a password nobody knows
        dummyHash ??= hashPassword(randomBytes(32).toString('hex'));
        await verifyPassword(await dummyHash, password);
        return false;
      }),
    get running() {
      return slots.running;
    },
    get queued() {
      return slots.queued;
    },
  };
}
