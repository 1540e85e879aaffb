// API tokens of POST /api/User/authreset: made by `oms-gateway token create`, shown once, kept as SHA-256.
import { randomBytes } from 'node:crypto';
import { sha256Hex } from './digest';

/** A new API token: 256 random bits, base64url (no characters a header or a shell would mangle). */
export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The store's id of an API token: its SHA-256 hex, so a copy of the store cannot be replayed as tokens. */
export function hashApiToken(token: string): string {
  return sha256Hex(token);
}
