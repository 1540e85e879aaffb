// What a wire function is: name, payload schema, who may call it, and the function itself.
import type { z } from 'zod';
import type { ErrorName } from './codes';
import type { PayloadSchema } from './payload';

/** The logged-in user behind a call. */
export interface Caller {
  readonly userId: number;
  readonly userName: string;
  readonly permissions: readonly string[];
  readonly accountIds: readonly number[];
  /** The store's id (SHA-256) of the caller's session, so LogOut can end exactly that one. */
  readonly sessionId?: string;
}

/**
 * Who may call: anyone; any logged-in user; or a user holding one of the permissions
 * (or a permission named after the call itself, as the OMS allows).
 */
export type Access = 'public' | 'session' | { readonly permissions: readonly string[] };

/** What the transport (socket or HTTP request) gives a call. */
export interface Connection {
  /** A short id for logs. */
  readonly id: string;
  readonly transport: 'ws' | 'http';
  /** The peer's address, for limits and audit. */
  readonly clientAddress: string;
  /** The logged-in caller, checked against the store (which refreshes its idle TTL); null when there is none. */
  currentCaller(): Promise<Caller | null>;
  /**
   * Binds the session a login created to this connection, or unbinds it (LogOut). With the caller the store
   * just resolved for it (a resume), the next calls reuse that check instead of asking the store again.
   */
  bindSession(sessionToken: string | null, caller?: Caller): void;
}

export interface CallContext<Services> {
  readonly services: Services;
  readonly connection: Connection;
  /** Resolved before `run` unless access is 'public' (then null: public calls look it up themselves). */
  readonly caller: Caller | null;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
}

export interface HandlerDefinition<Services, S extends PayloadSchema = PayloadSchema> {
  /** The wire name exactly as the OMS spells it. */
  readonly name: string;
  readonly input: S;
  /** The reply's payload (the decoded `o`); the API documents are generated from it and from `input`. */
  readonly output?: z.ZodType;
  /** One line for the API documents. */
  readonly summary?: string;
  /** The refusals particular to this function, with when (for the API documents); 100 and 102 go for all. */
  readonly errors?: Partial<Record<ErrorName, string>>;
  readonly access: Access;
  /** Returns the reply's payload (undefined means the standard success object) or throws OmsError. */
  run(payload: z.infer<S>, context: CallContext<Services>): Promise<unknown>;
}

export function defineHandler<Services, S extends PayloadSchema>(
  definition: HandlerDefinition<Services, S>,
): HandlerDefinition<Services> {
  return definition;
}
