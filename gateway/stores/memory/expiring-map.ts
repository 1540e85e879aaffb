// A map whose entries expire on a clock: the embedded store's stand-in for Redis TTLs.
import type { Clock } from '../../../core/ports/clock';

interface Entry<V> {
  value: V;
  /** ms since epoch, or Infinity */
  expiresAt: number;
}

export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private sweptAt = 0;

  constructor(private readonly clock: Clock) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Milliseconds left, -1 for no expiry, undefined when absent (as Redis PTTL). */
  ttl(key: K): number | undefined {
    if (this.get(key) === undefined) return undefined;
    const expiresAt = this.entries.get(key)!.expiresAt;
    return expiresAt === Infinity ? -1 : expiresAt - this.clock.now();
  }

  /** `ttlMs` undefined keeps no expiry. */
  set(key: K, value: V, ttlMs?: number): void {
    this.sweep();
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : this.clock.now() + ttlMs });
  }

  /** Replaces the value of a live entry, keeping its expiry; false when absent. */
  update(key: K, value: V): boolean {
    if (this.get(key) === undefined) return false;
    this.entries.get(key)!.value = value;
    return true;
  }

  /** Sets a new expiry on a live entry; false when absent. */
  expire(key: K, ttlMs: number): boolean {
    if (this.get(key) === undefined) return false;
    this.entries.get(key)!.expiresAt = this.clock.now() + ttlMs;
    return true;
  }

  delete(key: K): boolean {
    const live = this.get(key) !== undefined;
    this.entries.delete(key);
    return live;
  }

  /** Drops expired entries now and then, so keys nobody reads again do not pile up. */
  private sweep(): void {
    const now = this.clock.now();
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
