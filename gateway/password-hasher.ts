// argon2id password hashing with explicit parameters and a bound on hashes in flight, so a login flood queues.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id`: the package's const enum is ambient, which isolatedModules cannot read. */
const ARGON2ID = 2;

export interface HasherOptions {
  /** memory per hash, default 19456 KiB */
  readonly memoryKib: number;
  /** passes, default 2 */
  readonly iterations: number;
  /** lanes, default 1 */
  readonly parallelism: number;
  /** hashes computed at once, default 4 (the libuv threadpool size); more wait in line */
  readonly concurrency: number;
}

export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh random salt; the password is NFKC-normalised. */
  hash(password: string): Promise<string>;
  /** Checks a password against a PHC string (its own parameters apply); false for a malformed hash. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same work as `verify` against a hash no password matches, and resolves false:
   * an unknown user name takes as long to refuse as a wrong password.
   */
  verifyNothing(password: string): Promise<false>;
  /** Hashes running now. */
  readonly running: number;
  /** Hashes waiting for a slot. */
  readonly queued: number;
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

export function createPasswordHasher(options: HasherOptions): PasswordHasher {
  const argon2Options = {
    algorithm: ARGON2ID,
    memoryCost: options.memoryKib,
    timeCost: options.iterations,
    parallelism: options.parallelism,
  };
  const slots = createSemaphore(options.concurrency);
  let dummyHash: Promise<string> | undefined;

  // NFKC on both sides: the same password typed on another keyboard or IME (full-width, composed
  // accents) must hash alike, and the reset rules count characters after the same normalisation
  const hashPassword = (password: string): Promise<string> =>
    slots.run(() => hash(password.normalize('NFKC'), argon2Options));
  const verifyPassword = (passwordHash: string, password: string): Promise<boolean> =>
    slots.run(() => verify(passwordHash, password.normalize('NFKC')).catch(() => false));

  return {
    hash: hashPassword,
    verify: verifyPassword,
    async verifyNothing(password: string): Promise<false> {
      // computed once, with the current parameters, from a password nobody knows
      dummyHash ??= hashPassword(randomBytes(32).toString('hex'));
      await verifyPassword(await dummyHash, password);
      return false;
    },
    get running() {
      return slots.running;
    },
    get queued() {
      return slots.queued;
    },
  };
}
