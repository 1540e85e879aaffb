// Pending codes: made from 122 random bits (a v4 UUID), stored and compared only as their SHA-256.
import { v4 as uuidv4 } from 'uuid';
import { sha256Hex } from './digest';

export { sameHash } from './digest';

export function newPendingCode(): string {
  return uuidv4();
}

/** SHA-256, lower-case hex: what the store keeps instead of the code. */
export function hashPendingCode(code: string): string {
  return sha256Hex(code);
}
