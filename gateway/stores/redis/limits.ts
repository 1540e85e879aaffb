// Fixed-window rate limits on Redis, shared by every gateway: one counter per limit key, each under its own tag.
//
// On one node, the keys of a call go to one script in one round trip. On a cluster each key may live on another
// node, so the keys are counted one slot at a time, in order (neighbours under one hash tag, such as a target's
// interval and hourly limits under its user's tag, in one script): hitAll stops at the first that refuses, as on
// one node; reserve gives back what it reserved on earlier keys when a later one is full. So a limit is never
// exceeded; two reservations racing for the last room may both be refused, never both allowed.
import { guarded } from './connection';
import { limitKey } from './keys';
import { isCluster, script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { LimitHit, RateDecision, RateLimiter } from '../../../core/ports/store';

type Reply = [number, number, number];

const waitSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** What Redis hashes for a key's slot: the text between its first '{' and the next '}', if not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** The most keys of one slot a cluster call takes (a target's limits: 2). */
const MAX_SLOT_KEYS = 4;

/**
 * The calls of one slot each, in order: all keys at once on one node; on a cluster, each run of neighbours whose
 * stored keys share a hash tag (so a slot), up to MAX_SLOT_KEYS.
 */
function bySlot<T>(redis: RedisClient, items: readonly T[], keyOf: (item: T) => string): (readonly T[])[] {
  if (items.length === 0) return [];
  if (!isCluster(redis)) return [items];
  const groups: T[][] = [];
  let tag: string | undefined;
  for (const item of items) {
    const next = hashTag(limitKey(keyOf(item)));
    const last = groups.at(-1);
    if (last !== undefined && next === tag && last.length < MAX_SLOT_KEYS) last.push(item);
    else groups.push([item]);
    tag = next;
  }
  return groups;
}

const limitsArg = (hits: readonly LimitHit[]): string =>
  JSON.stringify(hits.map((hit) => [hit.limit, hit.windowSeconds * 1000]));

type Many = 'hit' | 'reserve' | 'refund';

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: Record<Many | 'peek', ScriptCall>;
  /**
   * On a cluster: the same scripts with 1 to MAX_SLOT_KEYS keys and no count (scripts.ts says why), by name and
   * count; defined up front, since an auto-pipeline takes the connection's scripts when it is made
   */
  private readonly fixedKeys = new Map<string, ScriptCall>();

  constructor(private readonly redis: RedisClient) {
    this.scripts = {
      hit: script(redis, 'limits-hit-nkeys.lua'),
      reserve: script(redis, 'limits-reserve-nkeys.lua'),
      refund: script(redis, 'limits-refund-nkeys.lua'),
      peek: script(redis, 'limits-peek-1keys.lua'),
    };
    // a single node runs the counted scripts above
    if (!isCluster(redis)) return;
    for (const name of ['hit', 'reserve', 'refund'] as const) {
      for (let count = 1; count <= MAX_SLOT_KEYS; count++) {
        this.fixedKeys.set(`${name}:${count}`, script(redis, `limits-${name}-nkeys.lua`, count));
      }
    }
  }

  /** Runs `name` on the keys of one slot, then `args`. */
  private run(name: Many, keys: readonly string[], ...args: string[]): Promise<unknown> {
    const prefixed = keys.map(limitKey);
    if (!isCluster(this.redis)) return this.scripts[name](prefixed.length, ...prefixed, ...args);
    return this.fixedKeys.get(`${name}:${prefixed.length}`)!(...prefixed, ...args);
  }

  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowSeconds }]);
  }

  hitAll(hits: readonly LimitHit[]): Promise<RateDecision> {
    return guarded(async () => {
      let decision: RateDecision = { allowed: true, count: 0, retryAfterSeconds: 0 };
      for (const group of bySlot(this.redis, hits, (hit) => hit.key)) {
        const [index, count, ttlMs] = (await this.run(
          'hit',
          group.map((hit) => hit.key),
          limitsArg(group),
        )) as Reply;
        const allowed = count <= group[index - 1]!.limit;
        decision = { allowed, count, retryAfterSeconds: allowed ? 0 : waitSeconds(ttlMs) };
        if (!allowed) break;
      }
      return decision;
    });
  }

  reserve(hits: readonly LimitHit[]): Promise<RateDecision> {
    return guarded(async () => {
      const reserved: LimitHit[] = [];
      let first = 0;
      for (const group of bySlot(this.redis, hits, (hit) => hit.key)) {
        const [allowed, count, waitMs] = (await this.run(
          'reserve',
          group.map((hit) => hit.key),
          limitsArg(group),
        )) as Reply;
        if (allowed !== 1) {
          // a crash here keeps the earlier slots' hits until their windows end: refused more, never allowed more
          await this.refund(reserved.map((hit) => hit.key));
          return { allowed: false, count, retryAfterSeconds: waitSeconds(waitMs) };
        }
        if (reserved.length === 0) first = count;
        reserved.push(...group);
      }
      return { allowed: true, count: first, retryAfterSeconds: 0 };
    });
  }

  refund(keys: readonly string[]): Promise<void> {
    return guarded(async () => {
      await Promise.all(bySlot(this.redis, keys, (key) => key).map((group) => this.run('refund', group)));
    });
  }

  reset(key: string): Promise<void> {
    return guarded(async () => {
      await this.redis.del(limitKey(key));
    });
  }

  peek(key: string, limit: number): Promise<RateDecision> {
    return guarded(async () => {
      const [count, ttlMs] = (await this.scripts.peek(limitKey(key))) as [number, number];
      const allowed = count < limit;
      return { allowed, count, retryAfterSeconds: allowed ? 0 : waitSeconds(ttlMs) };
    });
  }
}
