// What every handler receives besides its payload: the services, bound to this gateway's types.
import type { Config } from '../gateway/config';
import type { Clock } from '../core/ports/clock';
import type { Logger } from '../gateway/logger';
import type { PasswordHasher } from '../gateway/password-hasher';
import type { ResetFlow } from '../core/reset-flow';
import type { ResetStore } from '../core/ports/reset-store';
import type { Store } from '../core/ports/store';
import { defineHandler as defineGeneric } from '../protocol/handler';
import type { CallContext as GenericCallContext, HandlerDefinition } from '../protocol/handler';
import type { PayloadSchema } from '../protocol/payload';

export interface Services {
  readonly config: Config;
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

export type CallContext = GenericCallContext<Services>;
export type Handler = HandlerDefinition<Services>;

export function defineHandler<S extends PayloadSchema>(definition: HandlerDefinition<Services, S>): Handler {
  return defineGeneric(definition);
}
