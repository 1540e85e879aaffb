// Sessions on Redis: one key per session under its own tag (a resume reads one key: one round trip), and each
// user's index of them, a sorted set by idle deadline under the user's tag (eviction and ending them all).
//
// The index must hold every live session, or a password change could miss one. So every step that spans the two
// slots is ordered to leave, when it stops half way, only index entries without a session, never a session
// without its entry:
//   start:     the index entry first (with the password check, so a login racing a password change either comes
//              before it and is ended by it, or after it and is refused), then the session key, unless a
//              revocation left its tombstone there in between;
//   eviction:  the evicted sessions' keys become tombstones first, then their index entries go;
//   end all:   the keys first, then the entries.
// Revocations go out on a sharded channel (SPUBLISH; SSUBSCRIBE by every gateway): on a cluster a message reaches
// only the nodes of the channel's shard instead of every node, as a plain PUBLISH would (issue 13).
import { connectSubscriber, disconnectRedis, guarded, watchRedis } from './connection';
import type { RedisOptions } from './connection';
import { REVOCATION_CHANNEL, revocationChannel, sessionKey, userKeys } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { Logger } from '../../logger';
import type {
  NewSession,
  SessionRevocation,
  SessionStart,
  SessionStore,
  UserRecord,
  UserStore,
} from '../../../core/ports/store';

/**
 * An ended session's key holds this for TOMBSTONE_MS instead of vanishing: a start whose index entry the revocation
 * saw but whose key it had not written yet then finds the tombstone and does not start (sessions-put-1keys.lua).
 */
const TOMBSTONE = 'revoked';
const TOMBSTONE_MS = 60_000;

/** How many index entries past their deadline a start hands back to check (keeps the index near its live size). */
const STALE_CHECKED_PER_START = 4;

/** Parses a revocation message; anything malformed is dropped (it did not come from this code). */
export function parseRevocation(text: string): SessionRevocation | null {
  try {
    const value = JSON.parse(text) as { userId?: unknown; sessionIds?: unknown };
    if (!Number.isSafeInteger(value.userId) || !Array.isArray(value.sessionIds)) return null;
    const sessionIds = value.sessionIds.filter((id): id is string => typeof id === 'string');
    return Object.freeze({ userId: value.userId as number, sessionIds: Object.freeze(sessionIds) });
  } catch {
    return null;
  }
}

/** Tells every gateway (SPUBLISH on the sharded channel; the connection's key prefix applies to it). */
export async function publishRevocation(redis: RedisClient, revocation: SessionRevocation): Promise<void> {
  await redis.spublish(REVOCATION_CHANNEL, JSON.stringify(revocation));
}

/**
 * Deletes the sessions' keys (each in its own slot) and publishes those that were live; returns them, unguarded.
 * Their index entries are left to the caller, to remove afterwards.
 */
export async function endSessions(
  redis: RedisClient,
  userId: number,
  sessionIds: readonly string[],
): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const before = await Promise.all(
    sessionIds.map((id) => redis.set(sessionKey(id), TOMBSTONE, 'PX', TOMBSTONE_MS, 'GET')),
  );
  const ended = sessionIds.filter((_, i) => before[i] !== null && before[i] !== TOMBSTONE);
  if (ended.length > 0) await publishRevocation(redis, { userId, sessionIds: ended });
  return ended;
}

/** Makes the subscriber connection (ioredis, SSUBSCRIBE): connectSubscriber's by default. */
export type SubscriberFactory = () => RedisClient;

type ScriptName = 'put' | 'indexAdd' | 'touch' | 'indexTouch' | 'end';

export class RedisSessionStore implements SessionStore {
  private readonly listeners = new Set<(revocation: SessionRevocation) => void>();
  /** The subscriber connection, opened with the first listener (a subscribed connection can do nothing else). */
  private subscriber: RedisClient | undefined;
  private subscribed: Promise<void> | undefined;
  private closed = false;
  private readonly scripts: Record<ScriptName, ScriptCall>;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisOptions,
    private readonly logger: Logger,
    private readonly users: Pick<UserStore, 'get'>,
    private readonly connectListener: SubscriberFactory = () =>
      connectSubscriber(options, 'oms-gateway-revocations'),
  ) {
    this.scripts = {
      put: script(redis, 'sessions-put-1keys.lua'),
      indexAdd: script(redis, 'sessions-index-add-2keys.lua'),
      touch: script(redis, 'sessions-touch-1keys.lua'),
      indexTouch: script(redis, 'sessions-index-touch-1keys.lua'),
      end: script(redis, 'sessions-end-1keys.lua'),
    };
  }

  async create(sessionId: string, userId: number, ttlMs: number, maxPerUser = 0): Promise<number> {
    return (await this.start({ sessionId, userId, ttlMs, maxPerUser })).ended;
  }

  /** Two round trips, three or four when the user is over the cap: O(log n) in the user's sessions either way. */
  start(session: NewSession): Promise<SessionStart> {
    const { sessionId, userId, ttlMs, maxPerUser = 0, maxLifetimeMs = 0, passwordHash } = session;
    const whole = (n: number): number => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);
    const lifetime = whole(maxLifetimeMs);
    const user = userKeys(userId);
    const key = sessionKey(sessionId);
    return guarded(async () => {
      const reply = (await this.scripts.indexAdd(
        user.record,
        user.sessions,
        JSON.stringify({
          sessionId,
          deadline: lifetime > 0 ? Math.min(ttlMs, lifetime) : ttlMs,
          passwordHash: passwordHash ?? '',
          cap: whole(maxPerUser),
          stale: STALE_CHECKED_PER_START,
        }),
      )) as -1 | [string[], string[]];
      // the password changed since the login checked it (or there is no such user): nothing was written
      if (reply === -1) return { started: false, ended: 0 };
      const [over, stale] = reply;
      const [put, ended, gone] = await Promise.all([
        this.scripts.put(key, String(userId), String(ttlMs), lifetime),
        this.endSessions(userId, over),
        Promise.all(stale.map((id) => this.redis.exists(sessionKey(id)))),
      ]);
      const drop = [...over, ...stale.filter((_, i) => gone[i] === 0)];
      // a revocation came between the two steps and left its tombstone: this session never was
      if (put !== 1) drop.push(sessionId);
      if (drop.length > 0) await this.redis.zrem(user.sessions, ...drop);
      return { started: put === 1, ended: ended.length };
    });
  }

  private endSessions(userId: number, sessionIds: readonly string[]): Promise<string[]> {
    return endSessions(this.redis, userId, sessionIds);
  }

  private async publish(revocation: SessionRevocation): Promise<void> {
    await publishRevocation(this.redis, revocation);
  }

  /** One round trip: the session's own key. Its index entry's score follows without being waited for. */
  touch(sessionId: string, ttlMs: number): Promise<number | null> {
    return guarded(async () => {
      const reply = (await this.scripts.touch(sessionKey(sessionId), String(ttlMs))) as
        [string, number] | null;
      if (reply === null) return null;
      const [userId, deadline] = reply;
      // only the eviction order depends on this score: a lost update ends this session a little early under
      // MAX_SESSIONS_PER_USER, and never keeps a session out of the index
      this.scripts.indexTouch(userKeys(userId).sessions, sessionId, String(deadline)).catch(() => undefined);
      return Number(userId);
    });
  }

  /**
   * The touch, then the user's record: two round trips in a row, because a session's key is found by its id and
   * lives in its own slot, apart from the user's (keys.ts). Neither step uses argon2.
   */
  async resume(sessionId: string, ttlMs: number): Promise<UserRecord | null> {
    const userId = await this.touch(sessionId, ttlMs);
    return userId === null ? null : this.users.get(userId);
  }

  revoke(sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const userId = (await this.scripts.end(sessionKey(sessionId), TOMBSTONE_MS)) as string | null;
      if (userId === null) return false;
      await Promise.all([
        this.redis.zrem(userKeys(userId).sessions, sessionId),
        this.publish({ userId: Number(userId), sessionIds: [sessionId] }),
      ]);
      return true;
    });
  }

  revokeAllForUser(userId: number): Promise<number> {
    return guarded(async () => {
      const index = userKeys(userId).sessions;
      const ids = await this.redis.zrange(index, '0', '-1');
      const ended = await this.endSessions(userId, ids);
      if (ids.length > 0) await this.redis.zrem(index, ...ids);
      return ended.length;
    });
  }

  onRevoked(listener: (revocation: SessionRevocation) => void): () => void {
    this.listeners.add(listener);
    this.subscribe();
    return () => this.listeners.delete(listener);
  }

  private subscribe(): void {
    if (this.subscriber || this.closed) return;
    // ioredis re-subscribes by itself after a reconnect; revocations published during an outage are lost, but
    // the sessions are already deleted, so the next call on those sockets answers errorcode 20 anyway
    const subscriber = this.connectListener();
    const channel = revocationChannel(this.options.prefix);
    watchRedis(subscriber, this.logger, 'revocations');
    subscriber.on('smessage', (from: string, message: string) => {
      if (from !== channel) return;
      const revocation = parseRevocation(message);
      if (revocation === null) return this.logger.warn({ channel }, 'ignored a malformed revocation message');
      for (const each of [...this.listeners]) each(revocation);
    });
    this.subscribed = subscriber.ssubscribe(channel).then(
      () => undefined,
      (error: unknown) => {
        if (this.closed) return; // closed before Redis answered: nothing to report
        this.logger.error({ err: error }, 'could not subscribe to session revocations');
      },
    );
    this.subscriber = subscriber;
  }

  whenListening(): Promise<void> {
    this.subscribe();
    return this.subscribed ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    // no QUIT: it would wait for a Redis that may never come back (this connection retries forever)
    if (this.subscriber) disconnectRedis(this.subscriber);
    this.subscriber = undefined;
    return Promise.resolve();
  }
}
