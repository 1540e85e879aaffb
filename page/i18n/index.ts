// The reset page's languages: one catalogue each, the choice of one from the user's preferences, and plural forms
// through the platform's Intl (no dependency). Shared by the page's script and the gateway that renders its HTML.
import { de } from './de';
import { en } from './en';
import type { PageText } from './en';
import { es } from './es';
import { fr } from './fr';
import { isLanguage } from '../../core/languages';
import type { Language } from '../../core/languages';

export type { PageText, Plural } from './en';

export { DEFAULT_LANGUAGE, isLanguage, LANGUAGES } from '../../core/languages';
export type { Language } from '../../core/languages';

export const PAGE_CATALOGUES = { en, de, fr, es } as const satisfies Record<Language, PageText>;

/**
 * The first supported language among the preferences, in order (BCP 47 tags: `de-AT` matches `de`); null when
 * none is. `preferences` is navigator.languages, or an Accept-Language header's tags by weight.
 */
export function pickLanguage(preferences: readonly string[]): Language | null {
  for (const tag of preferences) {
    const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
    if (isLanguage(primary)) return primary;
  }
  return null;
}

/** An Accept-Language header's tags, highest weight first (RFC 9110 §12.5.4); `*` and q=0 are dropped. */
export function acceptLanguageTags(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .slice(0, 32) // a header is the client's to make long; the first few carry the preference
    .map((part, index) => {
      const params = part.trim().split(';');
      const tag = (params.shift() ?? '').trim();
      const q = params.map((param) => /^\s*q=([0-9.]+)\s*$/.exec(param)?.[1]).find((v) => v !== undefined);
      return { tag, weight: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag !== '' && entry.tag !== '*' && entry.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index)
    .map((entry) => entry.tag);
}

/** A counted phrase in `language`, with `{n}` replaced by the count. */
export function plural(language: Language, count: number, forms: PageText['tooShort']): string {
  const rule = new Intl.PluralRules(language).select(count);
  const form = (rule === 'one' ? forms.one : undefined) ?? forms.other;
  return form.replace('{n}', new Intl.NumberFormat(language).format(count));
}

/** The password rules as the page lists them, in `language`. */
export function rulesOf(language: Language, minLength: number, maxLength: number): string[] {
  const text = PAGE_CATALOGUES[language];
  return [
    text.ruleLength.replace('{min}', String(minLength)).replace('{max}', String(maxLength)),
    text.ruleNotOwn,
    text.ruleNotCommon,
  ];
}
