// The settings the domain and the handlers read: a view of the gateway's Config (gateway/config.ts), which
// satisfies this interface, so the domain never imports the process's configuration.
import type { PasswordPolicy } from '../password-policy';

export interface Settings {
  /** idle lifetime of a session, refreshed on every call */
  readonly sessionTtlSeconds: number;
  /** live sessions per user; a login beyond it ends the least recently used */
  readonly maxSessionsPerUser: number;
  /** a session ends at this age however much it is used */
  readonly sessionMaxLifetimeSeconds: number;
  readonly loginLimit: {
    /** failed logins per (name or API key, address) pair per window */
    readonly attempts: number;
    readonly windowSeconds: number;
    /** failed logins per address, in the same window */
    readonly addressAttempts: number;
    /** attempts per name or API key from anywhere per throttle window */
    readonly nameAttempts: number;
    readonly nameWindowSeconds: number;
  };
  readonly reset: {
    /** callers without a session may ask ResetPassword */
    readonly allowPublic: boolean;
    readonly codeTtlSeconds: number;
    readonly maxWrongTries: number;
    /** the page reset mails link to */
    readonly pageUrl: string;
    readonly targetIntervalSeconds: number;
    readonly targetHourlyLimit: number;
    readonly callerLimit: number;
    readonly callerWindowSeconds: number;
    /** ResetPassword2 calls per client address per window */
    readonly completeAddressLimit: number;
    readonly completeAddressWindowSeconds: number;
  };
  readonly passwordPolicy: PasswordPolicy;
  /** refused reset steps are audited once per caller per window of this many seconds */
  readonly auditRefusalWindowSeconds: number;
}
