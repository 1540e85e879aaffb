// Structured JSON logs (pino) that never carry a secret: values under secret-named keys are replaced at any depth.
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger };

/** Key names (compared lower-cased) whose values never reach a log line. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'password',
  'newpassword',
  'oldpassword',
  'pendingcode',
  'verifycode',
  'sessiontoken',
  'aptoken',
  'token',
  'requesttoken',
  'twofatoken',
  'apikey',
  'apisecret',
  'secret',
  'signature',
  'authorization',
  'cookie',
  'sendgridapikey',
  'passwordhash',
]);

export const REDACTED = '[redacted]';

/** Copies `value`, replacing the value of every secret-named key at any depth (cycles are cut). */
export function redactSecrets(value: unknown, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[cycle]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, seen));
  if (value instanceof Error) return value; // the err serializer handles errors; it is redacted below
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key.toLowerCase()) ? REDACTED : redactSecrets(item, seen);
  }
  return out;
}

/**
 * Replaces every `command: {name, args}` (how ioredis errors carry the command that failed, also in nested errors
 * such as a cluster's lastNodeError) with its name: the arguments may be a password (`HELLO 3 AUTH user pass`
 * after a WRONGPASS) or a script's arguments.
 */
function withoutCommandArguments(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 4) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const replaced =
      key === 'command' && typeof item === 'object' && item !== null && 'args' in item
        ? (item as { name?: unknown }).name
        : withoutCommandArguments(item, depth + 1);
    if (replaced === item) continue;
    copy ??= (Array.isArray(value) ? [...(value as unknown[])] : { ...value }) as Record<string, unknown>;
    copy[key] = replaced;
  }
  return copy ?? value;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'oms-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object) as Record<string, unknown>,
      },
      serializers: {
        err: (error: unknown) =>
          redactSecrets(withoutCommandArguments(pino.stdSerializers.err(error as Error))),
      },
    },
    destination,
  );
}
