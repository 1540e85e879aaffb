// A mail to send and how sending it went. Two mailers: SendGrid, and the development outbox (no API key).
import type { Language } from '../languages';
import type { MailKind } from '../mail-job';

/** One rendered e-mail. `link` carries the PendingCode: never log it (the dev outbox is the documented exception). */
export interface MailMessage {
  readonly kind: MailKind;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The data a SendGrid dynamic template receives. */
  readonly userName: string;
  /** The reset link; null for mails without one. */
  readonly link: string | null;
  readonly expiresInMinutes: number | null;
  /** The language it is written in (and a template's data, so a template can follow it). */
  readonly language: Language;
  /** The sender's display name for this mail; default the mailer's (MAIL_FROM_NAME). */
  readonly fromName?: string;
}

/**
 * How a send went. 'retry': try again later (429, 5xx, network); 'reject': the provider refused the mail
 * and sending it again would not help (other 4xx). Any 2xx is 'sent': SendGrid answers 202, never send twice.
 */
export type SendOutcome =
  | { readonly status: 'sent' }
  | {
      readonly status: 'retry';
      readonly reason: string;
      /** from Retry-After */ readonly retryAfterMs?: number;
    }
  | { readonly status: 'reject'; readonly reason: string };

export interface Mailer {
  readonly kind: 'sendgrid' | 'dev-outbox';
  /** Never throws: every failure is classified. Reasons never contain the link or the code. */
  send(message: MailMessage): Promise<SendOutcome>;
}
