// The languages a user's mails and reset page come in: one catalogue each in page/i18n/ and gateway/mail/i18n/,
// which must cover exactly these (their types say so). A user record's Language is one of them.
export const LANGUAGES = ['en', 'de', 'fr', 'es'] as const;

export type Language = (typeof LANGUAGES)[number];

export const DEFAULT_LANGUAGE: Language = 'en';

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}
