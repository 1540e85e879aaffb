// Fixed-window rate limits on Redis, shared by every gateway: one counter per limit key, each under its own tag.
//
// On one node, the keys of a call go to one script in one round trip. On a cluster each key may live on another
// node, so the keys are counted one slot at a time, in order: hitAll stops at the first that refuses, as on one
// node; reserve gives back what it reserved on earlier keys when a later one is full. So a limit is never
// exceeded; two reservations racing for the last room may both be refused, never both allowed.
import { guarded } from './connection';
import { limitKey } from './keys';
import { isCluster, script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { LimitHit, RateDecision, RateLimiter } from '../../../core/ports/store';

type Reply = [number, number, number];

const waitSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** The calls of one slot each: all keys at once on one node, one key per call on a cluster. */
function bySlot(redis: RedisClient, hits: readonly LimitHit[]): (readonly LimitHit[])[] {
  if (hits.length === 0) return [];
  return isCluster(redis) ? hits.map((hit) => [hit]) : [hits];
}

const limitsArg = (hits: readonly LimitHit[]): string =>
  JSON.stringify(hits.map((hit) => [hit.limit, hit.windowSeconds * 1000]));

type Many = 'hit' | 'reserve' | 'refund';

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: Record<Many | 'peek', ScriptCall>;
  /** On a cluster: the same scripts with one key and no count (scripts.ts says why). */
  private readonly oneKey: Record<Many, ScriptCall>;

  constructor(private readonly redis: RedisClient) {
    this.scripts = {
      hit: script(redis, 'limits-hit-nkeys.lua'),
      reserve: script(redis, 'limits-reserve-nkeys.lua'),
      refund: script(redis, 'limits-refund-nkeys.lua'),
      peek: script(redis, 'limits-peek-1keys.lua'),
    };
    this.oneKey = {
      hit: script(redis, 'limits-hit-nkeys.lua', 1),
      reserve: script(redis, 'limits-reserve-nkeys.lua', 1),
      refund: script(redis, 'limits-refund-nkeys.lua', 1),
    };
  }

  /** Runs `name` on the keys of one slot (one key on a cluster), then `args`. */
  private run(name: Many, keys: readonly string[], ...args: string[]): Promise<unknown> {
    const prefixed = keys.map(limitKey);
    if (isCluster(this.redis) && prefixed.length === 1) return this.oneKey[name](prefixed[0]!, ...args);
    return this.scripts[name](prefixed.length, ...prefixed, ...args);
  }

  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowSeconds }]);
  }

  hitAll(hits: readonly LimitHit[]): Promise<RateDecision> {
    return guarded(async () => {
      let decision: RateDecision = { allowed: true, count: 0, retryAfterSeconds: 0 };
      for (const group of bySlot(this.redis, hits)) {
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
      for (const group of bySlot(this.redis, hits)) {
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
      const groups = isCluster(this.redis) ? keys.map((key) => [key]) : keys.length > 0 ? [keys] : [];
      await Promise.all(groups.map((group) => this.run('refund', group)));
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
