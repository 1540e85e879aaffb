// The one digest of stored secrets: pending codes, SessionTokens and API tokens are kept only as SHA-256 hex,
// so a copy of the store cannot be replayed, and hex digests are compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of the UTF-8 text, lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests (equal length by construction; unequal lengths are just unequal). */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
