// Admission of WebSocket connections: MAX_CONNECTIONS in total and MAX_CONNECTIONS_PER_ADDRESS per address key.
import type { Logger } from '../logger';

/** Why an upgrade was refused; the label of oms_connections_refused_total. */
export type RefusalReason = 'max_connections' | 'max_connections_per_address' | 'shutting_down' | 'origin';

/** What a refused upgrade's 503 tells the client to wait, in seconds. */
export const UPGRADE_RETRY_AFTER_SECONDS = 5;

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
