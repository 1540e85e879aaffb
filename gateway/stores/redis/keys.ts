// Every Redis key name of the store, built here and only here, and handed to the scripts as KEYS.
//
// Each name carries REDIS_PREFIX in front (ioredis's keyPrefix adds it; the prefix must not hold `{`). `{…}` is a
// Redis Cluster hash tag: only what is inside is hashed to pick the key's slot, so keys with one tag live on one
// node and one script may touch them together. The layout (docs/operations.md lists it with the tags):
//   one user's keys share the tag {<UserId>}: record, permissions, accounts, session index, API keys, the pending
//     code with its wrong tries, and its per-target limits;
//   each unique index entry (name, e-mail), each session, each limit, each API token and each mail shard has a tag
//     of its own, so they spread over the nodes;
//   the audit streams and their counters share the tag {reset} (one script appends an event to them).
// Keys without braces hash as a whole: each is its own slot.
/** A user's keys: all under the tag {<UserId>}. */
export function userKeys(userId: number | string): {
  /** HASH userName, email, emailVerified, passwordHash, locked, accountId, omsId, createdAt */
  readonly record: string;
  /** SET of permissions */
  readonly permissions: string;
  /** SET of AccountIds */
  readonly accounts: string;
  /** ZSET session id → its idle deadline (Redis ms): the least recently used scores lowest */
  readonly sessions: string;
  /** SET of the user's APIKeys */
  readonly apiKeys: string;
  /** HASH h=<code's SHA-256 hex>, w:<address>=<wrong tries>, with the code's TTL: one live code per user */
  readonly resetCode: string;
} {
  const record = `user:{${userId}}`;
  return {
    record,
    permissions: `${record}:permissions`,
    accounts: `${record}:accounts`,
    sessions: `${record}:session-index`,
    apiKeys: `${record}:apikeys`,
    resetCode: `${record}:reset-code`,
  };
}

/** HASH secret, lastNonce: one API key of a user (the user's tag). */
export function apiKeyKey(userId: number, apiKey: string): string {
  return `${userKeys(userId).record}:apikey:${apiKey}`;
}

/** INCR counter of UserIds. */
export const USER_IDS_KEY = 'users:next-id';

/** SET of every UserId (the user list). */
export const USER_LIST_KEY = 'users:all';

/**
 * A unique index entry: a lower-cased user name or e-mail → UserId, each entry under its own tag. While a user is
 * being created it holds that id with a lease (PX); it is made permanent once the user is written.
 */
export function userIndexKey(by: 'name' | 'email', value: string): string {
  return `${by === 'name' ? 'user-name' : 'user-email'}:{${value.toLowerCase()}}`;
}

/** STRING `<UserId>[:<ends at, Redis ms>]` with the idle TTL: one session, by the SHA-256 hex of its token. */
export function sessionKey(sessionId: string): string {
  return `session:{${sessionId}}`;
}

/** core/reset-flow.ts targetStem(UserId) and a suffix. */
const TARGET_STEM = /^reset:target:user:(\d+):(.+)$/;

/** core/reset-limits.ts's unknownStem (what was asked, by name or e-mail) and a suffix, which has no ':'. */
const UNKNOWN_TARGET_STEM = /^(reset:target(?:-email)?:.+):([^:]+)$/;

/**
 * A rate-limit counter, under its own tag; but a found user's per-target reset limits (core/reset-flow.ts
 * targetStem) live with the user, under the user's tag, and a target nobody is has them with its decoy keys,
 * under the tag of what was asked. So both kinds of target count their limits in one script on one node: were
 * a nobody's two limits under tags of their own, a request for a name nobody has would make one more round trip
 * than one for a user, and its timing would tell them apart.
 */
export function limitKey(key: string): string {
  const target = TARGET_STEM.exec(key);
  if (target !== null) {
    return `${userKeys(target[1]!).record}:reset-limit:${target[2]}`;
  }
  const unknown = UNKNOWN_TARGET_STEM.exec(key);
  if (unknown !== null) {
    return `${decoyBase(unknown[1]!)}:reset-limit:${unknown[2]}`;
  }
  return `limit:{${key}}`;
}

/** HASH name, entries (JSON array), createdAt: one authreset API token by its SHA-256 hex, never the token. */
export function apiTokenKey(tokenHash: string): string {
  return `api-token:{${tokenHash}}`;
}

/** SET of the API tokens' hashes (listing, revoking by name). */
export const API_TOKEN_LIST_KEY = 'api-tokens';

/** One shard of the mail queue, all under the tag {mail:<n>}. */
export interface MailShardKeys {
  /** ZSET entry id → when it is due (ms, Redis clock): new, retry-later, or leased until */
  readonly due: string;
  /** HASH entry id → job JSON (holds the reset link, thus the code, until sent: deleted then) */
  readonly jobs: string;
  /** HASH entry id → claims so far */
  readonly attempts: string;
  /** HASH entry id → token of the current lease holder */
  readonly leases: string;
  /** LIST of DeadLetter JSON, newest first, capped */
  readonly dead: string;
  /** what a request for nobody writes in place of `due` and `jobs` (one entry each, overwritten) */
  readonly decoyDue: string;
  readonly decoyJobs: string;
}

export function mailShardKeys(shard: number): MailShardKeys {
  const base = `mail:{mail:${shard}}`;
  return {
    due: `${base}:due`,
    jobs: `${base}:jobs`,
    attempts: `${base}:attempts`,
    leases: `${base}:leases`,
    dead: `${base}:dead`,
    decoyDue: `${base}:decoy-due`,
    decoyJobs: `${base}:decoy-jobs`,
  };
}

/** The four keys of one audit event (audit-append-4keys.lua), all under the tag {reset}. */
export function auditKeys(windowStart: number, caller: string): [string, string, string, string] {
  return [
    AUDIT_KEY,
    REFUSED_KEY,
    `audit:{reset}:refused:${windowStart}:${caller}`,
    `audit:{reset}:ok:${windowStart}:${caller}`,
  ];
}

/** STREAM of successful AuditEvents, XADD MAXLEN ~ N. */
export const AUDIT_KEY = 'audit:{reset}';

/** STREAM of the first refusal of each caller and window (field window), MAXLEN ~ N. */
export const REFUSED_KEY = 'audit:{reset}:refused';

/** The counter of one caller's refusals in one window (kept a day). */
export function refusalCountKey(windowStart: number, caller: string): string {
  return auditKeys(windowStart, caller)[2];
}

/**
 * What a reset request for a target nobody is (or one out of reach, or locked) reads and writes instead of a
 * user's keys, under a tag of what was asked, so such requests spread over the nodes like real ones.
 */
export function decoyKeys(asked: string): {
  readonly user: string;
  readonly accounts: string;
  readonly code: string;
} {
  const base = decoyBase(asked);
  return { user: `${base}:user`, accounts: `${base}:accounts`, code: `${base}:code` };
}

/** The decoy keys' common start, tagged with what was asked (core/reset-limits.ts's unknownStem). */
function decoyBase(asked: string): string {
  return `reset-decoy:{${asked}}`;
}

/**
 * The sharded pub/sub channel of session revocations, as the publishing connection names it: ioredis adds the
 * key prefix to SPUBLISH's channel as to a key. The subscriber has no prefix and uses revocationChannel(prefix).
 */
export const REVOCATION_CHANNEL = 'session-revoked';

/** The revocation channel's full name, REDIS_PREFIX included. */
export function revocationChannel(prefix: string): string {
  return `${prefix}${REVOCATION_CHANNEL}`;
}
