// What the mail queue holds: the data of one e-mail to send, rendered only at delivery time.

/**
 * A reset mail. `link` carries the PendingCode (in its fragment): the queue holds it until the mail is
 * sent and deletes it then; it must never be logged (the dev outbox is the one documented exception).
 */
export interface ResetMailJob {
  readonly kind: 'reset';
  /** The recipient's e-mail address. */
  readonly to: string;
  readonly userId: number;
  readonly userName: string;
  /** RESET_PAGE_URL#UserId=…&PendingCode=…, see buildResetLink. */
  readonly link: string;
  /** How long the link works, for the text of the mail. */
  readonly expiresInMinutes: number;
  /** The sender's display name when an entry point sets its own (ENTRYPOINTS_FILE); default MAIL_FROM_NAME. */
  readonly fromName?: string;
  /** The user's language (the record's Language), for the mail and the page it links to; default English. */
  readonly language?: string;
}

/** "Your password was changed": no secret in it. */
export interface PasswordChangedMailJob {
  readonly kind: 'password-changed';
  readonly to: string;
  readonly userId: number;
  readonly userName: string;
  /** As for the reset mail. */
  readonly language?: string;
}

export type MailJob = ResetMailJob | PasswordChangedMailJob;

export type MailKind = MailJob['kind'];
