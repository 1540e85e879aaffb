// The embedded store: everything in this process's memory, same behaviour (TTLs included) as Redis, nothing kept.
import type { Clock } from '../clock';
import { ExpiringMap } from './expiring-map';
import type { RateDecision, RateLimiter, Store } from './store';

class MemoryRateLimiter implements RateLimiter {
  private readonly counters: ExpiringMap<string, number>;

  constructor(clock: Clock) {
    this.counters = new ExpiringMap(clock);
  }

  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const count = (this.counters.get(key) ?? 0) + 1;
    if (!this.counters.update(key, count)) this.counters.set(key, count, windowSeconds * 1000);
    const ttlMs = this.counters.ttl(key) ?? 0;
    const allowed = count <= limit;
    return Promise.resolve({ allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)) });
  }

  reset(key: string): Promise<void> {
    this.counters.delete(key);
    return Promise.resolve();
  }
}

export function createMemoryStore(clock: Clock): Store {
  return {
    kind: 'memory',
    limits: new MemoryRateLimiter(clock),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
