// What the use cases and the handlers work with: the ports, bound to one gateway, and the call's context.
import type { CallContext as GenericCallContext } from '../protocol/handler';
import type { Clock } from './ports/clock';
import type { Logger } from './ports/logger';
import type { PasswordHasher } from './ports/password-hasher';
import type { ResetStore } from './ports/reset-store';
import type { Settings } from './ports/settings';
import type { Store } from './ports/store';
import type { ResetFlow } from './reset-flow';

export interface Services {
  readonly config: Settings;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** argon2id with a bound on hashes in flight. */
  readonly hasher: PasswordHasher;
  /** Pending reset codes, the mail queue and the reset audit trail. */
  readonly resets: ResetStore;
  /** The reset steps, each one atomic store step (one round trip on Redis). */
  readonly resetFlow: ResetFlow;
}

/** One call's context: the services, the connection it came on, its caller and its abort signal. */
export type CallContext = GenericCallContext<Services>;
