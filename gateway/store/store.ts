// The store the handlers see. Two implementations (Redis, embedded memory), one contract suite in tests/gateway/store.

export interface RateDecision {
  readonly allowed: boolean;
  /** Hits counted in the current window, this one included. */
  readonly count: number;
  /** Seconds until the window ends (0 when allowed and no wait applies). */
  readonly retryAfterSeconds: number;
}

/** Fixed-window counters, shared by every gateway on the same Redis. */
export interface RateLimiter {
  /** Counts one hit against `key` and says whether it is within `limit` per `windowSeconds`. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision>;
  /** Forgets the key (a successful login clears its failures). */
  reset(key: string): Promise<void>;
}

export interface Store {
  /** 'memory' keeps nothing and serves one process only. */
  readonly kind: 'redis' | 'memory';
  readonly limits: RateLimiter;
  /** Resolves when the store answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
