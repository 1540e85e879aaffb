// The reset and password-changed mails (plain text and HTML); the link they carry is core/reset-link.ts.
import { DEFAULT_LANGUAGE, isLanguage, plural } from '../../page/i18n';
import type { Language } from '../../page/i18n';
import { MAIL_CATALOGUES } from './i18n';
import type { MailJob } from '../../core/mail-job';
import type { MailMessage } from '../../core/ports/mailer';

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** User names are user-chosen: escaped everywhere they land in HTML, attributes included. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

function page(title: string, language: Language, body: string): string {
  return [
    '<!doctype html>',
    `<html lang="${language}"><head><meta charset="utf-8"><title>`,
    escapeHtml(title),
    '</title></head>',
    '<body style="font-family: sans-serif; line-height: 1.5">',
    body,
    '</body></html>',
  ].join('');
}

/** The user's language for a mail: the job's, when it is one the catalogues have; else English. */
function mailLanguage(job: MailJob): Language {
  const asked = job.language?.toLowerCase();
  return asked !== undefined && isLanguage(asked) ? asked : DEFAULT_LANGUAGE;
}

/**
 * The link as the mail carries it: with the user's language in its fragment (beside the code, so it reaches no
 * server either), which the page follows; an English mail leaves the link as it was built.
 */
function linkIn(language: Language, link: string): string {
  return language === DEFAULT_LANGUAGE ? link : `${link}&lang=${language}`;
}

export function renderMail(job: MailJob): MailMessage {
  const name = job.userName;
  const language = mailLanguage(job);
  const t = MAIL_CATALOGUES[language];
  const greeting = t.greeting.replace('{name}', name);
  const greetingHtml = t.greeting.replace('{name}', escapeHtml(name));
  if (job.kind === 'reset') {
    const subject = t.resetSubject;
    const minutes = job.expiresInMinutes;
    const link = linkIn(language, job.link);
    const expiry = plural(language, minutes, t.resetExpiry);
    const text = [greeting, '', t.resetIntro, '', link, '', expiry, t.resetIgnore].join('\n');
    const html = page(
      subject,
      language,
      [
        `<p>${greetingHtml}</p>`,
        `<p>${escapeHtml(t.resetIntro)}</p>`,
        `<p><a href="${escapeHtml(link)}">${escapeHtml(t.resetButton)}</a></p>`,
        `<p>${escapeHtml(expiry)}</p>`,
        `<p>${escapeHtml(t.resetIgnore)}</p>`,
      ].join(''),
    );
    return {
      kind: job.kind,
      to: job.to,
      subject,
      text,
      html,
      userName: name,
      link,
      expiresInMinutes: minutes,
      language,
      ...(job.fromName === undefined ? {} : { fromName: job.fromName }),
    };
  }
  const subject = t.changedSubject;
  const text = [greeting, '', t.changedText, t.changedWarning].join('\n');
  const html = page(
    subject,
    language,
    [
      `<p>${greetingHtml}</p>`,
      `<p>${escapeHtml(t.changedText)}</p>`,
      `<p>${escapeHtml(t.changedWarning)}</p>`,
    ].join(''),
  );
  return {
    kind: job.kind,
    to: job.to,
    subject,
    text,
    html,
    userName: name,
    link: null,
    expiresInMinutes: null,
    language,
  };
}
