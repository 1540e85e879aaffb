// Calls the wire functions directly, wired as gateway/create-gateway.ts wires them, on the in-memory stores:
// no socket, no Redis, time moved by hand, logs captured, and the mails the queue would deliver.
import { handlers as defaultHandlers } from '../../handlers';
import type { Handler, Services } from '../../handlers/context';
import { ManualClock } from '../../core/ports/clock';
import type { MailMessage } from '../../core/ports/mailer';
import type { UserRecord } from '../../core/ports/store';
import { composeResetFlow } from '../../core/reset-flow';
import { resolveSession } from '../../core/sessions';
import { loadConfig } from '../../gateway/config';
import type { Config, Env } from '../../gateway/config';
import { renderMail } from '../../gateway/mail/templates';
import { createPasswordHasher } from '../../gateway/password-hasher';
import type { PasswordHasher } from '../../gateway/password-hasher';
import { newConnectionId } from '../../gateway/server/connection';
import { createMemoryStore } from '../../gateway/stores/memory/memory-store';
import { MemoryResetStore } from '../../gateway/stores/memory/memory-reset-store';
import { seedUsers } from '../../gateway/stores/seed-users';
import type { SeedUser } from '../../gateway/stores/seed-users';
import { createDispatcher } from '../../protocol/dispatch';
import type { Caller, Connection } from '../../protocol/handler';
import { openedForEach } from './lifecycle';
import type { Current } from './lifecycle';
import { captureLogs } from './logs';
import type { LogCapture } from './logs';
import type { ReceivedFrame } from './ws-client';

/** argon2id at its cheapest: these tests are about the rules, not the hash (the hasher's own test uses the defaults). */
export const CHEAP_ARGON2: Env = { ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };

export interface HarnessOptions {
  /** variables over development mode's defaults and CHEAP_ARGON2, as the gateway would read them */
  readonly env?: Env;
  /** users created before the first call (their passwords hashed with the harness's hasher) */
  readonly users?: readonly SeedUser[];
  /** default a ManualClock at 2026-01-01 */
  readonly clock?: ManualClock;
  /** default the gateway's own list (handlers/index.ts) */
  readonly handlers?: readonly Handler[];
  /** default argon2id with the configuration's parameters and queue bounds, as the gateway builds it */
  readonly hasher?: PasswordHasher;
}

/** One caller's connection: what a socket gives the dispatcher, without the socket. */
export interface HarnessConnection extends Connection {
  /** Sends one request frame through the dispatcher (decode, payload, access, handler) and answers its reply frame. */
  request(name: string, payload?: unknown, sequence?: number): Promise<ReceivedFrame>;
  /** As `request`, answering the reply's payload (the parsed `o`), as a socket client reads it. */
  call(name: string, payload?: unknown): Promise<unknown>;
  /** Aborts its calls in flight, as a socket's close does. */
  close(): void;
}

export interface HandlerHarness {
  readonly services: Services;
  readonly config: Config;
  readonly clock: ManualClock;
  readonly logs: LogCapture;
  /** The users created from `users`, by name. */
  readonly users: Readonly<Record<string, UserRecord>>;
  /** A connection from `address` (default 127.0.0.1) that has not logged in. */
  connect(address?: string): HarnessConnection;
  /** A connection logged in as a seeded user by AuthenticateUser with its password; throws if refused. */
  loginAs(userName: string, address?: string): Promise<HarnessConnection>;
  /**
   * The mails queued since the last call, delivered as the delivery loop does with a mailer that accepts all:
   * each due job claimed, rendered (renderMail) and completed. Oldest first.
   */
  deliverMails(): Promise<MailMessage[]>;
  close(): Promise<void>;
}

let nextSequence = 2;

export async function createHandlerHarness(options: HarnessOptions = {}): Promise<HandlerHarness> {
  const config = loadConfig({ OMS_DEV: '1', LOG_LEVEL: 'debug', ...CHEAP_ARGON2, ...options.env });
  const clock = options.clock ?? new ManualClock();
  const logs = captureLogs();
  const logger = logs.logger;
  // the embedded stores and the flow composed from them, as createGateway's openStores without REDIS_URL
  const store = createMemoryStore(clock);
  const resets = new MemoryResetStore(clock, {
    auditMaxLen: config.auditMaxLength,
    refusalWindowMs: config.auditRefusalWindowSeconds * 1000,
  });
  const hasher =
    options.hasher ??
    createPasswordHasher({
      ...config.argon2,
      concurrency: config.hashConcurrency,
      queueMax: config.hashQueue.max,
      queueMaxPerAddress: config.hashQueue.maxPerAddress,
    });
  const services: Services = {
    config,
    store,
    clock,
    logger,
    hasher,
    resets,
    resetFlow: composeResetFlow(store, resets),
  };
  const dispatcher = createDispatcher(options.handlers ?? defaultHandlers, { services });

  const seeds = options.users ?? [];
  await seedUsers(store, hasher, seeds, logger);
  const users: Record<string, UserRecord> = {};
  for (const user of await store.users.list()) users[user.userName] = user;

  function connect(address = '127.0.0.1'): HarnessConnection {
    let sessionToken: string | null = null;
    const abort = new AbortController();
    const connection: HarnessConnection = {
      id: newConnectionId(),
      transport: 'ws',
      clientAddress: address,
      // checked against the store on every call (a socket reuses a check for SESSION_RECHECK_MS; the rules do not)
      currentCaller: (): Promise<Caller | null> =>
        sessionToken === null
          ? Promise.resolve(null)
          : resolveSession(store, sessionToken, config.sessionTtlSeconds),
      bindSession: (token) => {
        sessionToken = token;
      },
      request: async (name, payload = {}, sequence = (nextSequence += 2)) => {
        const text = JSON.stringify({ m: 0, i: sequence, n: name, o: JSON.stringify(payload) });
        const reply = await dispatcher.dispatch(text, connection, abort.signal);
        return JSON.parse(reply.text) as ReceivedFrame;
      },
      call: async (name, payload) => JSON.parse((await connection.request(name, payload)).o) as unknown,
      close: () => abort.abort(),
    };
    return connection;
  }

  async function loginAs(userName: string, address?: string): Promise<HarnessConnection> {
    const seed = seeds.find((candidate) => candidate.UserName === userName);
    if (seed?.Password === undefined) throw new Error(`no seeded user ${userName} with a password`);
    const connection = connect(address);
    const reply = (await connection.call('AuthenticateUser', {
      UserName: userName,
      Password: seed.Password,
    })) as { Authenticated?: boolean };
    if (reply.Authenticated !== true)
      throw new Error(`login as ${userName} failed: ${JSON.stringify(reply)}`);
    return connection;
  }

  async function deliverMails(): Promise<MailMessage[]> {
    const mails: MailMessage[] = [];
    for (;;) {
      const claim = await resets.claimMail(config.mail.leaseMs);
      if (claim.mail === null) return mails;
      mails.push(renderMail(claim.mail.job));
      await resets.completeMail(claim.mail);
    }
  }

  return {
    services,
    config,
    clock,
    logs,
    users,
    connect,
    loginAs,
    deliverMails,
    close: async () => {
      await resets.close();
      await store.close();
    },
  };
}

/** A harness for each test of the enclosing describe, closed after it (tests/support/lifecycle.ts). */
export function useHandlerHarness(options: HarnessOptions = {}): Current<HandlerHarness> {
  return openedForEach(() => createHandlerHarness(options), 'the handler harness');
}
