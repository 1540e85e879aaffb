// The reset request, whichever front door asks (ResetPassword by name, POST /api/User/authreset by e-mail):
// a new code, and one store step that decides the rest.
import { logAudit } from './audit';
import { hashPendingCode, newPendingCode } from './pending-code';
import type { ResetRequest, ResetRequestResult } from './reset-flow';
import { targetLimits } from './reset-limits';
import type { ResetAudit } from './reset-limits';
import { resetLinkParts } from './reset-link';
import type { CallContext } from './services';
import type { Language } from './languages';

/** Who asked, for the audit event of whatever the request's store step decides. */
export type ResetAuditBase = Pick<ResetAudit, 'step' | 'caller'>;

/** What a front door may change about the mail (an ENTRYPOINTS_FILE entry); the rest is configuration. */
export interface ResetMailSettings {
  /** the page the link opens, default RESET_PAGE_URL */
  readonly pageUrl?: string;
  /** the sender's display name, default MAIL_FROM_NAME */
  readonly fromName?: string;
  /** the request's language (authreset's Accept-Language), for a user without one; default English */
  readonly language?: Language;
}

/** What a front door asks of a reset: whom (as asked), under which limits and reach, with which mail. */
export type ResetAsk = Pick<ResetRequest, 'lookup' | 'limits' | 'targetLimits' | 'reach'> & {
  readonly mail: ResetMailSettings;
  readonly audit: ResetAuditBase;
};

/**
 * Every front door's reset (ResetPassword, POST /api/User/authreset) ends here: a new code (only its SHA-256
 * is stored), and the store decides and writes the rest in one atomic step (one round trip on Redis): the
 * limits, the lookup, the reach, the code, the mail and the audit event. What it decided is logged here; what
 * the caller is answered is the front door's to say.
 */
export async function queueReset(context: CallContext, ask: ResetAsk): Promise<ResetRequestResult> {
  const { config, resetFlow, clock, logger } = context.services;
  const code = newPendingCode();
  const result = await resetFlow.requestReset({
    ...ask,
    codeHash: hashPendingCode(code),
    ttlMs: config.reset.codeTtlSeconds * 1000,
    mail: {
      link: resetLinkParts(ask.mail.pageUrl ?? config.reset.pageUrl, code),
      expiresInMinutes: Math.round(config.reset.codeTtlSeconds / 60),
      ...(ask.mail.fromName === undefined ? {} : { fromName: ask.mail.fromName }),
      ...(ask.mail.language === undefined ? {} : { language: ask.mail.language }),
    },
    audit: { at: clock.now(), ...ask.audit },
  });
  logAudit(logger, result.audit, config.auditRefusalWindowSeconds * 1000);
  return result;
}

/**
 * The reset for the user with this e-mail (POST /api/User/authreset): the same per-target limits as by name
 * (keyed by the user, so shared with ResetPassword; an unknown address keys on itself as asked), code, mail and
 * audit outcome, in one store step. Every refusal there is an outcome, not an answer: the caller's reply is
 * the same whether the address is known, unknown, locked or asked too often.
 */
export async function resetByEmail(
  email: string,
  context: CallContext,
  mail: ResetMailSettings,
  audit: ResetAuditBase,
): Promise<void> {
  await queueReset(context, {
    lookup: { by: 'email', value: email },
    limits: [],
    targetLimits: targetLimits(email, context, 'email'),
    reach: null,
    mail,
    audit,
  });
}
