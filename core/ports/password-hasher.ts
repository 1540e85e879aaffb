// The password hasher the domain sees: argon2id behind a bounded queue (gateway/password-hasher.ts implements it).
import { OmsError } from '../../protocol/codes';

/** Who asked for a hash. Calls without one (start-up seeding, the CLI) are never refused. */
export interface HashCaller {
  /** The client address (context.connection.clientAddress). */
  readonly address: string;
}

/**
 * A hash refused at once because the queue is at its bound (HASH_QUEUE_MAX, HASH_QUEUE_MAX_PER_ADDRESS):
 * errorcode 101 with the wait in `detail`, instead of a reply that comes seconds later.
 */
export class HashQueueFullError extends OmsError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      'OperationFailed',
      `Too many password checks in progress; retry after ${retryAfterSeconds} seconds`,
    );
    this.name = 'HashQueueFullError';
  }
}

/**
 * With a caller, each call first takes a place in the queue: past `queueMax` waiting or `queueMaxPerAddress`
 * from the caller's address, it rejects at once with HashQueueFullError.
 */
export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh random salt; the password is NFKC-normalised. */
  hash(password: string, caller?: HashCaller): Promise<string>;
  /** Checks a password against a PHC string (its own parameters apply); false for a malformed hash. */
  verify(passwordHash: string, password: string, caller?: HashCaller): Promise<boolean>;
  /**
   * Spends the same work as `verify` against a hash no password matches, and resolves false:
   * an unknown user name takes as long to refuse as a wrong password.
   */
  verifyNothing(password: string, caller?: HashCaller): Promise<false>;
  /** Hashes running now. */
  readonly running: number;
  /** Hashes waiting for a slot. */
  readonly queued: number;
}
