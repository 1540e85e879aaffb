// The reset page in English: the catalogue whose keys every other language must have (a type and a test say so).

/** A counted phrase: `{n}` is the count; `one` is used where Intl.PluralRules says so. */
export interface Plural {
  readonly one?: string;
  readonly other: string;
}

export const en = {
  title: 'Choose a new password',
  noscript: 'This page needs JavaScript to change your password. Turn it on and open the link again.',
  formLead: 'Enter a new password for your account. You will use it the next time you sign in.',
  passwordLabel: 'New password',
  rulesTitle: 'Your new password must be:',
  ruleLength: 'At least {min} and at most {max} characters',
  ruleNotOwn: 'Not your user name or e-mail address, and not containing them',
  ruleNotCommon: 'Not a commonly used password',
  confirmLabel: 'Confirm new password',
  showPasswords: 'Show passwords',
  submit: 'Set new password',
  saving: 'Saving…',
  savingStatus: 'Saving your new password…',
  tooShort: { one: 'Use at least {n} character.', other: 'Use at least {n} characters.' } as Plural,
  tooLong: { one: 'Use at most {n} character.', other: 'Use at most {n} characters.' } as Plural,
  mismatch: 'The two passwords do not match.',
  rejectedOwn: 'Do not use your user name or e-mail address in your password.',
  rejectedCommon: 'This password is too common. Choose a less predictable one.',
  rejected: 'This password cannot be used. Choose another one.',
  successHeading: 'Password changed',
  successText: 'Your password has been changed. Sign in with your new password from now on.',
  successClose: 'You can close this page now.',
  successContinue: 'Continue to sign in',
  invalidHeading: 'This link is invalid or has expired',
  invalidText:
    'A reset link works once, for a limited time. Ask for a new password-reset e-mail and open the link in it.',
  invalidHint:
    'If you have just changed your password with this link, it is used up: sign in with the new one.',
  unreachableHeading: 'We could not reach the server',
  unreachableText: 'Your password has not been changed yet. Check your connection and try again.',
  noAnswerHeading: 'No answer from the server',
  noAnswerText:
    'We could not confirm the change. Try again; if the link then says it has been used, your new password is already set.',
  failedHeading: 'Something went wrong',
  failedText: 'Your password has not been changed. Try again in a moment.',
  retry: 'Try again',
  retrying: 'Trying again…',
};

/** A catalogue's type from its English one: the same keys, each a string or a Plural. */
export type TextOf<English> = {
  readonly [Key in keyof English]: English[Key] extends Plural ? Plural : string;
};

export type PageText = TextOf<typeof en>;
