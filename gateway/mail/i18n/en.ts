// The two mails in English: the catalogue whose keys every other language must have (a type and a test say so).
import type { Plural, TextOf } from '../../../page/i18n/en';

export const en = {
  greeting: 'Hello {name},',
  resetSubject: 'Reset your password',
  resetIntro:
    'Someone asked to reset the password of your account. To choose a new password, open this link:',
  resetButton: 'Choose a new password',
  resetExpiry: {
    one: 'The link works for {n} minute and only once.',
    other: 'The link works for {n} minutes and only once.',
  } as Plural,
  resetIgnore: 'If you did not ask for this, ignore this mail: your password stays as it is.',
  changedSubject: 'Your password was changed',
  changedText: 'The password of your account was just changed.',
  changedWarning: 'If you did not do this, reset your password at once and tell your administrator.',
};

export type MailText = TextOf<typeof en>;
