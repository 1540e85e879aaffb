// ENTRYPOINTS_FILE: per entry point (Payabli's `entry`), the reset page its mails link to and the sender name.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** What an entry point changes about a reset mail; everything else is the gateway's configuration. */
export interface EntryPoint {
  /** The page the mail's link opens (its origin may call /AP/ResetPassword2 from a browser). */
  readonly resetPageUrl: string;
  /** The sender's display name; null: MAIL_FROM_NAME. */
  readonly fromName: string | null;
}

export type EntryPoints = ReadonlyMap<string, EntryPoint>;

/** Entry identifiers as Payabli uses them (a paypoint's slug, a partner's id): letters, digits, `.`, `_`, `-`. */
export const ENTRY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

const EntryPointSchema = z.strictObject({
  resetPageUrl: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((value) => !value.includes('#'), 'must not have a #fragment: the link puts the code there'),
  fromName: z.string().trim().min(1).max(100).optional(),
});

const FileSchema = z.record(
  z.string().regex(ENTRY_NAME, 'entry names are 1 to 100 letters, digits, ".", "_" or "-"'),
  EntryPointSchema,
);

/**
 * Reads and validates the file; throws an Error naming the file and each problem (the caller wraps it as a
 * ConfigError). No file configured: no entry points, and every `entry` in a request is unknown.
 */
export function loadEntryPoints(path: string | null): EntryPoints {
  if (path === null) return new Map();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`ENTRYPOINTS_FILE ${path}: cannot read it (${code})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`ENTRYPOINTS_FILE ${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = FileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      // a bad entry name is reported as "Invalid key in record" with the rule's own message inside
      const message =
        issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
      return `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${message}`;
    });
    throw new Error(`ENTRYPOINTS_FILE ${path}: ${problems.join('; ')}`);
  }
  return new Map(
    Object.entries(parsed.data).map(([entry, point]) => [
      entry,
      Object.freeze({ resetPageUrl: point.resetPageUrl, fromName: point.fromName ?? null }),
    ]),
  );
}
