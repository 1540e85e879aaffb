// The reset and password-changed mails (plain text and HTML), and the reset link the mail carries.
import type { MailJob } from './mail-job';
import type { MailMessage } from './mailer';

/**
 * RESET_PAGE_URL#UserId=<id>&PendingCode=<code>. The code goes in the fragment, so browsers send it neither
 * to the page's server nor in Referer headers; the page reads it and only its submit uses it (mail scanners
 * open links). Built from configuration, never from a request's Host header.
 */
export function buildResetLink(pageUrl: string, userId: number, code: string): string {
  const [head, tail] = resetLinkParts(pageUrl, code);
  return `${head}${encodeURIComponent(String(userId))}${tail}`;
}

/** The reset link before and after its UserId, for a store step that learns the id itself (reset-flow.ts). */
export function resetLinkParts(pageUrl: string, code: string): [head: string, tail: string] {
  if (pageUrl.includes('#'))
    throw new Error('RESET_PAGE_URL must not have a #fragment: the link puts the code there');
  return [`${pageUrl}#UserId=`, `&PendingCode=${encodeURIComponent(code)}`];
}

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

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>',
    escapeHtml(title),
    '</title></head>',
    '<body style="font-family: sans-serif; line-height: 1.5">',
    body,
    '</body></html>',
  ].join('');
}

export function renderMail(job: MailJob): MailMessage {
  const name = job.userName;
  if (job.kind === 'reset') {
    const subject = 'Reset your password';
    const minutes = job.expiresInMinutes;
    const text = [
      `Hello ${name},`,
      '',
      'Someone asked to reset the password of your account. To choose a new password, open this link:',
      '',
      job.link,
      '',
      `The link works for ${minutes} minutes and only once.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n');
    const html = page(
      subject,
      [
        `<p>Hello ${escapeHtml(name)},</p>`,
        '<p>Someone asked to reset the password of your account. To choose a new password, open this link:</p>',
        `<p><a href="${escapeHtml(job.link)}">Choose a new password</a></p>`,
        `<p>The link works for ${minutes} minutes and only once.</p>`,
        '<p>If you did not ask for this, ignore this mail: your password stays as it is.</p>',
      ].join(''),
    );
    return {
      kind: job.kind,
      to: job.to,
      subject,
      text,
      html,
      userName: name,
      link: job.link,
      expiresInMinutes: minutes,
      ...(job.fromName === undefined ? {} : { fromName: job.fromName }),
    };
  }
  const subject = 'Your password was changed';
  const text = [
    `Hello ${name},`,
    '',
    'The password of your account was just changed.',
    'If you did not do this, reset your password at once and tell your administrator.',
  ].join('\n');
  const html = page(
    subject,
    [
      `<p>Hello ${escapeHtml(name)},</p>`,
      '<p>The password of your account was just changed.</p>',
      '<p>If you did not do this, reset your password at once and tell your administrator.</p>',
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
  };
}
