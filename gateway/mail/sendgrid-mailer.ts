// Sends mail through the real @sendgrid/mail client, at a configurable base URL, and classifies every outcome.
import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import type { MailDataRequired } from '@sendgrid/mail';
import type { Mailer, MailMessage, SendOutcome } from '../../core/ports/mailer';

export interface SendGridMailerOptions {
  readonly apiKey: string;
  /** API base URL (a regional endpoint, a proxy, a test server), default https://api.sendgrid.com */
  readonly baseUrl?: string;
  /** sender address */
  readonly from: string;
  /** sender display name, default none */
  readonly fromName?: string;
  /** a dynamic template (d-…) for the reset mail, with data link, user_name, expires_in_minutes; default none */
  readonly templateId?: string | null;
  /** bound on one request, default 10000 ms (the delivery lease must be longer) */
  readonly timeoutMs?: number;
}

/** Longest reason kept from a provider's error body. */
const MAX_REASON = 300;

interface ErrorShape {
  code?: unknown;
  message?: unknown;
  response?: { status?: unknown; headers?: unknown; body?: unknown; data?: unknown };
}

function retryAfterMs(headers: unknown): number | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)['retry-after'];
  const seconds = Number(value);
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0)
    return seconds * 1000;
  if (typeof value === 'string') {
    const at = Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  return undefined;
}

/** "field: message; …" from SendGrid's {errors: [{message, field}]} body. */
function describeErrors(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return '';
  return errors
    .map((item: unknown) => {
      const { message, field } = (item ?? {}) as { message?: unknown; field?: unknown };
      return `${typeof field === 'string' && field ? `${field}: ` : ''}${typeof message === 'string' ? message : ''}`;
    })
    .join('; ');
}

export class SendGridMailer implements Mailer {
  readonly kind = 'sendgrid';
  // an instance, not the module's singleton: several gateways in one process (tests) keep their own key and URL
  private readonly service = new MailService();

  constructor(private readonly options: SendGridMailerOptions) {
    const client = new Client();
    client.setApiKey(options.apiKey);
    // after setApiKey, which resets the base URL to the global region's
    client.setDefaultRequest('baseUrl', options.baseUrl ?? 'https://api.sendgrid.com');
    this.service.setClient(client);
    this.service.setTimeout(options.timeoutMs ?? 10_000);
  }

  async send(message: MailMessage): Promise<SendOutcome> {
    let data: MailDataRequired;
    try {
      data = this.toMailData(message);
    } catch (error) {
      return { status: 'reject', reason: this.scrub(`invalid mail: ${(error as Error).message}`, message) };
    }
    try {
      const [response] = await this.service.send(data);
      if (response.statusCode >= 200 && response.statusCode < 300) return { status: 'sent' };
      return { status: 'reject', reason: `unexpected HTTP ${response.statusCode}` };
    } catch (error) {
      return this.classify(error, message);
    }
  }

  private toMailData(message: MailMessage): MailDataRequired {
    const fromName = message.fromName ?? this.options.fromName;
    const from = fromName ? { email: this.options.from, name: fromName } : this.options.from;
    // click tracking off: SendGrid would wrap the link, sending the code (in the fragment) through its servers
    const base = {
      to: message.to,
      from,
      trackingSettings: { clickTracking: { enable: false, enableText: false } },
      // the link contains "&", which makes the helper print a Handlebars hint on the console
      hideWarnings: true,
    };
    const templateId = this.options.templateId;
    if (templateId && message.kind === 'reset') {
      return {
        ...base,
        templateId,
        dynamicTemplateData: {
          link: message.link,
          user_name: message.userName,
          expires_in_minutes: message.expiresInMinutes,
          language: message.language,
        },
      };
    }
    return { ...base, subject: message.subject, text: message.text, html: message.html };
  }

  private classify(error: unknown, message: MailMessage): SendOutcome {
    const shape = (typeof error === 'object' && error !== null ? error : {}) as ErrorShape;
    // ResponseError (status >= 400) carries the status as `code` and the body as response.body;
    // a raw axios error with a response (e.g. a 3xx) carries response.status and response.data
    const status =
      typeof shape.code === 'number'
        ? shape.code
        : typeof shape.response?.status === 'number'
          ? shape.response.status
          : null;
    if (status === null) {
      // no HTTP answer: refused, reset, timed out. SendGrid may have taken a mail that timed out: at-least-once
      const code = typeof shape.code === 'string' ? shape.code : 'network error';
      const text = typeof shape.message === 'string' ? shape.message : String(error);
      return { status: 'retry', reason: this.scrub(`${code}: ${text}`, message) };
    }
    const detail = describeErrors(shape.response?.body ?? shape.response?.data);
    const reason = this.scrub(`HTTP ${status}${detail ? `: ${detail}` : ''}`, message);
    if (status === 429) {
      const after = retryAfterMs(shape.response?.headers);
      return after === undefined
        ? { status: 'retry', reason }
        : { status: 'retry', reason, retryAfterMs: after };
    }
    if (status >= 500) return { status: 'retry', reason };
    return { status: 'reject', reason };
  }

  /** Reasons reach the logs: cut them short and remove the link and its code should a server echo them. */
  private scrub(reason: string, message: MailMessage): string {
    let text = reason;
    if (message.link) {
      text = text.split(message.link).join('[link]');
      const code = new URLSearchParams(message.link.split('#')[1] ?? '').get('PendingCode');
      if (code) text = text.split(code).join('[redacted]');
    }
    text = text.split(this.options.apiKey).join('[redacted]');
    return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
  }
}
