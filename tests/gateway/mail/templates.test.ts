// The reset link and the two mails' text and HTML.
import { MAIL_CATALOGUES } from '../../../gateway/mail/i18n';
import { buildResetLink } from '../../../core/reset-link';
import { escapeHtml, renderMail } from '../../../gateway/mail/templates';
import { LANGUAGES } from '../../../page/i18n';

describe('buildResetLink', () => {
  it('puts UserId and PendingCode in the fragment of the configured page URL', () => {
    const link = buildResetLink(
      'https://example.test/reset?lang=en',
      12,
      '5b2c7c3e-aaaa-4bbb-8ccc-1234567890ab',
    );
    const url = new URL(link);
    expect(`${url.origin}${url.pathname}${url.search}`).toBe('https://example.test/reset?lang=en');
    const fragment = new URLSearchParams(url.hash.slice(1));
    expect(fragment.get('UserId')).toBe('12');
    expect(fragment.get('PendingCode')).toBe('5b2c7c3e-aaaa-4bbb-8ccc-1234567890ab');
  });

  it('URL-encodes the values', () => {
    expect(buildResetLink('https://example.test/r', 1, 'a&b=c')).toBe(
      'https://example.test/r#UserId=1&PendingCode=a%26b%3Dc',
    );
  });

  it('refuses a page URL that already has a fragment', () => {
    expect(() => buildResetLink('https://example.test/r#x', 1, 'code')).toThrow(/fragment/);
  });
});

describe('renderMail', () => {
  const reset = {
    kind: 'reset' as const,
    to: 'ada@example.test',
    userId: 7,
    userName: 'Ada <b>"&\'</b>',
    link: 'https://example.test/r#UserId=7&PendingCode=abc',
    expiresInMinutes: 30,
  };

  it('writes the reset mail with the link, the expiry and what to do if you did not ask', () => {
    const mail = renderMail(reset);
    expect(mail).toMatchObject({
      kind: 'reset',
      to: 'ada@example.test',
      subject: 'Reset your password',
      link: reset.link,
    });
    expect(mail.text).toContain(reset.link);
    expect(mail.text).toContain('30 minutes');
    expect(mail.text).toContain('If you did not ask for this, ignore this mail');
    expect(mail.html).toContain('href="https://example.test/r#UserId=7&amp;PendingCode=abc"');
    expect(mail.html).toContain('30 minutes');
  });

  it('escapes the user name in the HTML', () => {
    const mail = renderMail(reset);
    expect(mail.html).toContain('Hello Ada &lt;b&gt;&quot;&amp;&#39;&lt;/b&gt;,');
    expect(mail.html).not.toContain('<b>');
    expect(mail.text).toContain('Hello Ada <b>"&\'</b>,');
  });

  it('writes the password-changed mail without any link', () => {
    const mail = renderMail({ kind: 'password-changed', to: 'ada@example.test', userId: 7, userName: 'Ada' });
    expect(mail).toMatchObject({ subject: 'Your password was changed', link: null, expiresInMinutes: null });
    expect(mail.text).toContain('was just changed');
    expect(mail.html).not.toContain('href');
  });

  it('escapes all five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('the mails in the user language', () => {
  const reset = {
    kind: 'reset' as const,
    to: 'ada@example.test',
    userId: 7,
    userName: 'Ada',
    link: 'https://example.test/r#UserId=7&PendingCode=abc',
    expiresInMinutes: 1,
  };

  it.each(LANGUAGES.map((language) => [language]))(
    'has every key and placeholder of English in %s',
    (language) => {
      const marks = (value: unknown) =>
        [...JSON.stringify(value).matchAll(/\{[a-z]+\}/g)].map((m) => m[0]).sort();
      const catalogue: Record<string, unknown> = MAIL_CATALOGUES[language];
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(MAIL_CATALOGUES.en).sort());
      for (const [key, value] of Object.entries(MAIL_CATALOGUES.en)) {
        expect({ key, marks: marks(catalogue[key]) }).toEqual({ key, marks: marks(value) });
      }
    },
  );

  it('writes a German reset mail, with the singular from Intl, and a link that opens the page in German', () => {
    const mail = renderMail({ ...reset, language: 'de' });
    expect(mail.subject).toBe('Passwort zurücksetzen');
    expect(mail.link).toBe(`${reset.link}&lang=de`);
    expect(mail.text).toContain('Hallo Ada,');
    expect(mail.text).toContain('Der Link gilt 1 Minute lang und nur einmal.');
    expect(mail.html).toContain('<html lang="de">');
    expect(mail.html).toContain('href="https://example.test/r#UserId=7&amp;PendingCode=abc&amp;lang=de"');
    expect(renderMail({ ...reset, language: 'fr', expiresInMinutes: 30 }).text).toContain(
      'valable 30 minutes',
    );
  });

  it('writes the password-changed mail in Spanish, and English for a language it does not have', () => {
    const changed = { kind: 'password-changed' as const, to: 'ada@example.test', userId: 7, userName: 'Ada' };
    expect(renderMail({ ...changed, language: 'es' }).subject).toBe('Su contraseña se ha cambiado');
    const unknown = renderMail({ ...reset, language: 'tlh' });
    expect(unknown).toMatchObject({ subject: 'Reset your password', link: reset.link });
  });
});
