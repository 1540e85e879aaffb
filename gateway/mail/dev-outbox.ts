// The development mailer (no SENDGRID_API_KEY): logs each mail with its link and lists the last ones at GET /dev/outbox.
import { systemClock } from '../../core/ports/clock';
import type { Clock } from '../../core/ports/clock';
import { sendJson } from '../server/http-routes';
import type { Route } from '../server/http-routes';
import type { Logger } from '../logger';
import type { Mailer, MailMessage, SendOutcome } from '../../core/ports/mailer';

export interface OutboxEntry {
  /** ISO 8601 */
  readonly at: string;
  readonly kind: MailMessage['kind'];
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly link: string | null;
}

export interface DevOutboxOptions {
  /** mails kept for GET /dev/outbox, default 50 */
  readonly keep?: number;
  readonly clock?: Clock;
}

export class DevOutbox implements Mailer {
  readonly kind = 'dev-outbox';
  private readonly entries: OutboxEntry[] = [];
  private readonly keep: number;
  private readonly clock: Clock;

  constructor(
    private readonly logger: Logger,
    options: DevOutboxOptions = {},
  ) {
    this.keep = options.keep ?? 50;
    this.clock = options.clock ?? systemClock;
  }

  send(message: MailMessage): Promise<SendOutcome> {
    const entry: OutboxEntry = {
      at: new Date(this.clock.now()).toISOString(),
      kind: message.kind,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      link: message.link,
    };
    this.entries.unshift(entry);
    this.entries.length = Math.min(this.entries.length, this.keep);
    // The one log line that carries a reset link (and so a code), on purpose: this mode exists only for a
    // local run without SendGrid, where the person at the terminal is the user who needs to click it.
    this.logger.info(
      { mail: message.kind, to: message.to, subject: message.subject, link: message.link },
      'dev outbox: mail not sent (no SENDGRID_API_KEY); see GET /dev/outbox',
    );
    return Promise.resolve({ status: 'sent' });
  }

  /** Newest first. */
  list(): OutboxEntry[] {
    return [...this.entries];
  }
}

/** GET /dev/outbox: the outbox as JSON, newest first. Mounted only when the gateway runs with the dev outbox. */
export function devOutboxRoute(outbox: DevOutbox): Route {
  return {
    method: 'GET',
    path: '/dev/outbox',
    handle: (_request, response) => sendJson(response, 200, { messages: outbox.list() }),
  };
}
