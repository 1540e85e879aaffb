// The new-password rules of ResetPassword2: length, not the user's own name or e-mail, not a common password.
// The page states them in the user's language (page/i18n/: ruleLength, ruleNotOwn, ruleNotCommon).
// No composition rules (NIST SP 800-63B §5.1.1.2): length and a blocklist protect better than forced symbols.
import { dictionary } from '@zxcvbn-ts/language-common';

/** Passwords longer than this are refused: argon2 work must stay bounded per call. */
export const PASSWORD_MAX_LENGTH = 128;

export interface PasswordPolicy {
  /** fewest characters (Unicode code points, after NFKC), default 8 */
  readonly minLength: number;
}

/** 49k passwords from leaked-password corpora, lower-cased for a case-insensitive check. */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  (dictionary['passwords-common'] as readonly string[]).map((password) => password.toLowerCase()),
);

function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** The reason a password is refused, for the caller's `detail`; null when it is acceptable. Never echoes it. */
export function passwordProblem(
  password: string,
  user: { readonly userName: string; readonly email: string },
  policy: PasswordPolicy,
): string | null {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < policy.minLength) return `Password must be at least ${policy.minLength} characters long`;
  if (length > PASSWORD_MAX_LENGTH) return `Password must be at most ${PASSWORD_MAX_LENGTH} characters long`;
  const lower = normalized.toLowerCase();
  const own = [user.userName, user.email].map((value) => value.normalize('NFKC').toLowerCase());
  if (own.some((value) => value.length > 0 && lower.includes(value))) {
    return 'Password must not be or contain your user name or e-mail address';
  }
  if (COMMON_PASSWORDS.has(lower)) return 'Password is too common; choose a less predictable one';
  return null;
}
