// Pending codes: made from 122 random bits (a v4 UUID), stored and compared only as their SHA-256.
import { createHash, timingSafeEqual } from 'node:crypto';
import { v4 as uuidv4 } from 'uuid';

export function newPendingCode(): string {
  return uuidv4();
}

/** SHA-256, lower-case hex: what the store keeps instead of the code. */
export function hashPendingCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex hashes (equal length by construction; unequal lengths are just unequal). */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
