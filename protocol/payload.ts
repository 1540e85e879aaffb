// Decode step 4: the frame's `o` → a validated payload, tolerant the way the OMS gateway is.
import type { z } from 'zod';
import { OmsError } from './codes';

/** A handler's payload schema: a zod object, whose keys are the wire names (`UserName`, `PendingCode`). */
export type PayloadSchema = z.ZodObject;

/**
 * `o` may be missing, "", "null", a JSON string of an object, or an object itself (not a string).
 * Anything else is a bad request.
 */
export function readPayloadObject(o: unknown): Record<string, unknown> {
  let value: unknown = o;
  if (typeof o === 'string') {
    const text = o.trim();
    if (text === '' || text === 'null') return {};
    try {
      value = JSON.parse(text) as unknown;
    } catch {
      // the parser's message quotes the input, which may be a password: say only what was wrong
      throw new OmsError('InvalidRequest', 'Payload "o" is not valid JSON');
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new OmsError('InvalidRequest', 'Payload "o" must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Renames keys that match a schema key case-insensitively (`Username`, `userName` → `UserName`).
 * An exact match wins over a case-insensitive one; keys the schema does not know pass through (zod strips them).
 */
export function matchKeys(payload: Record<string, unknown>, schema: PayloadSchema): Record<string, unknown> {
  const canonical = new Map<string, string>();
  for (const key of Object.keys(schema.shape)) canonical.set(key.toLowerCase(), key);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) {
    const wireKey = canonical.get(key.toLowerCase()) ?? key;
    if (wireKey !== key && Object.hasOwn(payload, wireKey)) continue;
    out[wireKey] = value;
  }
  return out;
}

/** Validates with zod; the detail names the path and the rule, never the value. */
export function validatePayload<S extends PayloadSchema>(o: unknown, schema: S): z.infer<S> {
  const result = schema.safeParse(matchKeys(readPayloadObject(o), schema));
  if (result.success) return result.data;
  const detail = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'payload'}: ${issue.message}`)
    .join('; ');
  throw new OmsError('InvalidRequest', detail);
}
