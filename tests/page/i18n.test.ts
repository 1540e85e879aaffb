// The page's catalogues: every language has every key, with the same placeholders; the choice of a language.
import {
  acceptLanguageTags,
  LANGUAGES,
  PAGE_CATALOGUES,
  pickLanguage,
  plural,
  rulesOf,
} from '../../page/i18n';

const placeholders = (value: unknown): string[] =>
  [...JSON.stringify(value).matchAll(/\{[a-z]+\}/g)].map((match) => match[0]).sort();

describe('the page catalogues', () => {
  it('offer English, German, French and Spanish at least', () => {
    expect(LANGUAGES).toEqual(expect.arrayContaining(['en', 'de', 'fr', 'es']));
  });

  it.each(LANGUAGES.map((language) => [language]))(
    '%s has every key of English, none empty, with its placeholders',
    (language) => {
      const catalogue: Record<string, unknown> = PAGE_CATALOGUES[language];
      const english: Record<string, unknown> = PAGE_CATALOGUES.en;
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(english).sort());
      for (const [key, value] of Object.entries(english)) {
        expect({
          key,
          empty: JSON.stringify(catalogue[key]).replace(/[{}"[\]:,\s]|one|other/g, '') === '',
        }).toEqual({
          key,
          empty: false,
        });
        expect({ key, placeholders: placeholders(catalogue[key]) }).toEqual({
          key,
          placeholders: placeholders(value),
        });
      }
    },
  );
});

describe('choosing a language', () => {
  it('reads Accept-Language by weight, dropping * and q=0', () => {
    expect(acceptLanguageTags('fr;q=0.5, de-AT, en;q=0.8, *;q=0.1, es;q=0')).toEqual(['de-AT', 'en', 'fr']);
    expect(acceptLanguageTags(undefined)).toEqual([]);
  });

  it('takes the first supported language, matching a regional tag by its language', () => {
    expect(pickLanguage(['pt-BR', 'de-CH', 'fr'])).toBe('de');
    expect(pickLanguage(['ja', 'zh'])).toBeNull();
  });

  it('uses Intl plural rules for counts and lists the rules with the policy numbers', () => {
    expect(plural('en', 1, PAGE_CATALOGUES.en.tooShort)).toBe('Use at least 1 character.');
    expect(plural('en', 8, PAGE_CATALOGUES.en.tooShort)).toBe('Use at least 8 characters.');
    expect(plural('fr', 1, PAGE_CATALOGUES.fr.tooShort)).toBe('Utilisez au moins 1 caractère.');
    expect(plural('es', 12, PAGE_CATALOGUES.es.tooShort)).toBe('Use al menos 12 caracteres.');
    expect(rulesOf('de', 10, 128)[0]).toBe('mindestens 10 und höchstens 128 Zeichen lang sein');
  });
});
