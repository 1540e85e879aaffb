// Admission of WebSocket connections: MAX_CONNECTIONS in total and MAX_CONNECTIONS_PER_ADDRESS per address key,
// MAX_HANDSHAKES_PER_SECOND, and the open-files budget (file-limit.ts).
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger';

/** Why an upgrade was refused; the label of oms_connections_refused_total. */
export type RefusalReason =
  | 'max_connections'
  | 'max_connections_per_address'
  | 'handshake_rate'
  | 'file_limit'
  | 'shutting_down'
  | 'origin';

/** What a refused upgrade's 503 tells the client to wait, in seconds. */
export const UPGRADE_RETRY_AFTER_SECONDS = 5;

/** What a 503 for the handshake rate tells the client to wait: the bucket refills within a second. */
export const HANDSHAKE_RETRY_AFTER_SECONDS = 1;

/** At most one log line per reason in this window; the next one says how many were not logged. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface Admission {
  /** Why a connection from `key` may not open now, or null when it may. */
  refusal(key: string): 'max_connections' | 'max_connections_per_address' | null;
  /** Counts an accepted connection; call in the same tick as `refusal` said null. */
  admit(key: string): void;
  /** Frees the slot of a closed connection. */
  release(key: string): void;
}

export function createAdmission(limits: {
  readonly maxConnections: number;
  readonly maxPerAddress: number;
}): Admission {
  let open = 0;
  const perAddress = new Map<string, number>();
  return {
    refusal: (key) => {
      if (open >= limits.maxConnections) return 'max_connections';
      if ((perAddress.get(key) ?? 0) >= limits.maxPerAddress) return 'max_connections_per_address';
      return null;
    },
    admit: (key) => {
      open++;
      perAddress.set(key, (perAddress.get(key) ?? 0) + 1);
    },
    release: (key) => {
      open--;
      const count = (perAddress.get(key) ?? 1) - 1;
      if (count <= 0) perAddress.delete(key);
      else perAddress.set(key, count);
    },
  };
}

/**
 * MAX_HANDSHAKES_PER_SECOND as a token bucket: it holds one second's worth of upgrades and refills continuously,
 * so a reconnect storm is admitted at that rate and the rest retry, while the sockets already connected keep the
 * event loop. Hand-written: a bucket is a few lines, and the rate limiters on npm are built for keyed, shared
 * counters (Redis), not one in-process rate checked on every upgrade. 0: no bound.
 */
export function createHandshakeBucket(
  perSecond: number,
  now: () => number = () => performance.now(),
): { take(): boolean } {
  if (perSecond <= 0) return { take: () => true };
  let tokens = perSecond;
  let filledAt = now();
  return {
    take: () => {
      const at = now();
      tokens = Math.min(perSecond, tokens + ((at - filledAt) * perSecond) / 1000);
      filledAt = at;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/**
 * Logs refusals, at most one line per reason per REFUSAL_LOG_INTERVAL_MS: a flood of refused upgrades must not
 * become a flood of log lines. The metric counts every one.
 */
export function createRefusalLog(
  logger: Logger,
  now: () => number = Date.now,
): (reason: RefusalReason, fields: object) => void {
  const last = new Map<RefusalReason, { at: number; suppressed: number }>();
  return (reason, fields) => {
    const seen = last.get(reason);
    const at = now();
    if (seen !== undefined && at - seen.at < REFUSAL_LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    logger.warn(
      { reason, ...fields, suppressed: seen?.suppressed ?? 0 },
      'websocket upgrade refused (one line per reason per 10 s; suppressed counts the others)',
    );
    last.set(reason, { at, suppressed: 0 });
  };
}
