// The reset flow's audit on Redis: two bounded streams and per-caller window counters, all under the tag {reset}.
import { guarded } from './connection';
import { AUDIT_KEY, auditKeys, REFUSED_KEY, refusalCountKey } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import { REFUSAL_COUNT_TTL_MS, refusalWindowStart } from '../../../core/ports/reset-store';
import type { AuditEvent, RefusalRecord } from '../../../core/ports/reset-store';

export interface AuditOptions {
  /** audit events kept (approximately: XADD MAXLEN ~ trims whole stream nodes) */
  readonly maxLen: number;
  /** refusals of one caller are aggregated per window of this length */
  readonly refusalWindowMs: number;
}

/** An event's KEYS and JSON ARGV for audit-append-4keys.lua. */
export function auditCall(
  event: AuditEvent,
  options: AuditOptions,
): [string, string, string, string, string] {
  const windowStart = refusalWindowStart(event.at, options.refusalWindowMs);
  const arg = {
    opts: { maxLen: options.maxLen, counterTtlMs: REFUSAL_COUNT_TTL_MS, windowStart: String(windowStart) },
    // strings: Lua would print a large number in exponent form
    event: {
      at: String(event.at),
      step: event.step,
      caller: event.caller,
      target: event.targetUserId === null ? '' : String(event.targetUserId),
      outcome: event.outcome,
      reason: event.reason,
    },
  };
  return [...auditKeys(windowStart, event.caller), JSON.stringify(arg)];
}

function auditFromFields(fields: string[]): AuditEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const target = map.get('target') ?? '';
  return {
    at: Number(map.get('at')),
    step: map.get('step') ?? '',
    caller: map.get('caller') ?? '',
    targetUserId: target === '' ? null : Number(target),
    outcome: map.get('outcome') ?? '',
    reason: map.get('reason') ?? '',
  };
}

export class RedisAudit {
  private readonly append: ScriptCall;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: AuditOptions,
  ) {
    this.append = script(redis, 'audit-append-4keys.lua');
  }

  /** The call that appends `event`, unguarded (the reset flow runs it beside other calls in one guard). */
  appendRaw(event: AuditEvent): Promise<unknown> {
    return this.append(...auditCall(event, this.options));
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await guarded(() => this.appendRaw(event));
  }

  recentAudit(count: number): Promise<AuditEvent[]> {
    if (count <= 0) return Promise.resolve([]);
    return guarded(async () => {
      const entries = await this.redis.xrevrange(AUDIT_KEY, '+', '-', 'COUNT', count);
      return entries.map(([, fields]) => auditFromFields(fields));
    });
  }

  recentRefusals(count: number): Promise<RefusalRecord[]> {
    if (count <= 0) return Promise.resolve([]);
    return guarded(async () => {
      const entries = await this.redis.xrevrange(REFUSED_KEY, '+', '-', 'COUNT', count);
      if (entries.length === 0) return [];
      const records = entries.map(([, fields]) => {
        const windowAt = fields.findIndex((field, i) => i % 2 === 0 && field === 'window');
        return { first: auditFromFields(fields), windowStart: Number(fields[windowAt + 1]) };
      });
      // one slot: the counters carry the audit's tag
      const counts = await this.redis.mget(
        ...records.map((record) => refusalCountKey(record.windowStart, record.first.caller)),
      );
      return records.map((record, i) => ({ ...record, count: Number(counts[i] ?? 0) }));
    });
  }
}
