// Records one reset step in the log and in the store's bounded audit stream (issue 4: "both steps append an event").
import type { Logger } from '../logger';
import type { AuditEvent, ResetStore } from './reset-store';

/**
 * Logs the event at info, then appends it to the store. An unreachable store does not fail the caller's
 * reset (the log line is still there); it is logged as an error instead.
 */
export async function recordAudit(
  store: Pick<ResetStore, 'appendAudit'>,
  logger: Logger,
  event: AuditEvent,
): Promise<void> {
  const fields = logAudit(logger, event);
  try {
    await store.appendAudit(event);
  } catch (error) {
    logger.error({ ...fields, err: error }, 'reset audit not stored');
  }
}

/** The log half of an audit record (for a store step that appends the event itself); returns the fields. */
export function logAudit(logger: Logger, event: AuditEvent): Record<string, unknown> {
  const fields = {
    audit: 'reset',
    step: event.step,
    caller: event.caller,
    targetUserId: event.targetUserId,
    outcome: event.outcome,
    reason: event.reason,
  };
  logger.info(fields, 'reset audit');
  return fields;
}
