// Records one reset step in the log and in the store's audit (issue 4: "both steps append an event"), with the
// refusals' log lines bounded (issue 11, finding 4: a flood of refusals must not flood the log either).
import { OmsError } from '../protocol/codes';
import type { Logger } from './ports/logger';
import { StoreUnavailableError } from './ports/store';
import { DEFAULT_REFUSAL_WINDOW_MS, refusalWindowStart } from './ports/reset-store';
import type { AuditEvent, ResetStore } from './ports/reset-store';

/** Callers whose refusals are logged in one window; the rest of the window's refusals are only counted. */
export const REFUSAL_LOG_CALLERS_PER_WINDOW = 100;

/**
 * The refusal log of one logger: the first refusal of each caller per window is logged, for at most
 * REFUSAL_LOG_CALLERS_PER_WINDOW callers; the others are counted and said in one line when the next window
 * starts. So a flood writes at most 101 refusal lines per window, however many addresses it comes from.
 */
class RefusalLogGate {
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly callers = new Set<string>();
  private suppressed = 0;

  admit(logger: Logger, event: AuditEvent, windowMs: number): boolean {
    const start = refusalWindowStart(event.at, windowMs);
    if (start > this.windowStart) {
      if (this.suppressed > 0) {
        logger.info(
          { audit: 'reset', suppressed: this.suppressed, windowStart: this.windowStart },
          'reset audit: refusals not logged',
        );
      }
      this.windowStart = start;
      this.callers.clear();
      this.suppressed = 0;
    }
    if (this.callers.has(event.caller) || this.callers.size >= REFUSAL_LOG_CALLERS_PER_WINDOW) {
      this.suppressed += 1;
      return false;
    }
    this.callers.add(event.caller);
    return true;
  }
}

// one gate per logger (one per gateway): the log it guards is the logger's
const gates = new WeakMap<Logger, RefusalLogGate>();

/**
 * Logs the event at info (a refusal only as RefusalLogGate allows), then records it in the store, which
 * keeps successes in their own stream and aggregates refusals. An unreachable store does not fail the
 * caller's reset (the log line is still there); it is logged as an error instead.
 */
export async function recordAudit(
  store: Pick<ResetStore, 'appendAudit'>,
  logger: Logger,
  event: AuditEvent,
  refusalWindowMs = DEFAULT_REFUSAL_WINDOW_MS,
): Promise<void> {
  const fields = logAudit(logger, event, refusalWindowMs);
  try {
    await store.appendAudit(event);
  } catch (error) {
    logger.error({ ...fields, err: error }, 'reset audit not stored');
  }
}

/**
 * The log half of an audit record (for a store step that records the event itself); returns the fields.
 * A success is always logged; a refusal only as the logger's RefusalLogGate allows.
 */
export function logAudit(
  logger: Logger,
  event: AuditEvent,
  refusalWindowMs = DEFAULT_REFUSAL_WINDOW_MS,
): Record<string, unknown> {
  const fields = {
    audit: 'reset',
    step: event.step,
    caller: event.caller,
    targetUserId: event.targetUserId,
    outcome: event.outcome,
    reason: event.reason,
  };
  if (event.outcome === 'ok') {
    logger.info(fields, 'reset audit');
    return fields;
  }
  let gate = gates.get(logger);
  if (gate === undefined) {
    gate = new RefusalLogGate();
    gates.set(logger, gate);
  }
  if (gate.admit(logger, event, refusalWindowMs)) logger.info(fields, 'reset audit');
  return fields;
}

/** What a refused step's audit event says went wrong: the error's own words, or only "server error". */
export function refusalReason(error: unknown): string {
  if (error instanceof StoreUnavailableError) return 'store unavailable';
  return error instanceof OmsError ? (error.detail ?? error.errormsg) : 'server error';
}
