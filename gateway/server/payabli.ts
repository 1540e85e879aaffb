// POST /api/User/authreset (Payabli's "Reset password for User", seed 002): the reset ResetPassword starts, by e-mail.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { CallContext, Services } from '../../core/services';
import { refusalReason } from '../../core/audit';
import { audit } from '../../core/reset-limits';
import { resetByEmail } from '../../core/reset-request';
import type { ResetMailSettings } from '../../core/reset-request';
import { OmsError } from '../../protocol/codes';
import { matchKeys } from '../../protocol/payload';
import { hashApiToken } from '../../core/api-tokens';
import { newConnectionId } from './connection';
import type { Config } from '../config';
import { ENTRY_NAME } from '../entrypoints';
import { readJsonBody } from './http-body';
import { httpFailureOf, HttpRefusal } from './http-errors';
import { sendJson } from './http-routes';
import type { Route } from './http-routes';
import type { ApiTokenRecord } from '../../core/ports/store';
import { acceptLanguageTags, pickLanguage } from '../../page/i18n';

export const AUTH_RESET_PATH = /^\/api\/User\/authreset\/?$/i;

/** Longest requestToken looked up; issued tokens are 43 characters. */
const MAX_TOKEN_LENGTH = 256;

/** "required" for a missing field, else `message`. */
const requiredOr = (message: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'required' : message),
});

/** Payabli's body, camelCase as its API spells it (other casings are matched, as .NET model binding does). */
export const AuthResetBody = z
  .object({
    email: z.email(requiredOr('must be a valid e-mail address')).max(254, 'must be at most 254 characters'),
    entry: z
      .string('must be a string')
      .regex(ENTRY_NAME, 'must be 1 to 100 letters, digits, ".", "_" or "-"')
      .nullish(),
    entryType: z.union([z.literal(0), z.literal(2)], 'must be 0 (partner) or 2 (paypoint)').nullish(),
  })
  .refine((body) => body.entry == null || body.entryType != null, {
    path: ['entryType'],
    message: 'required when entry is given',
  });

/** Every answer of the endpoint, as Payabli's AuthResetUserResponse: isSuccess is true only with 200. */
export const AuthResetReply = z.object({ isSuccess: z.boolean(), responseText: z.string() });

type Parsed =
  | { readonly ok: true; readonly value: z.infer<typeof AuthResetBody> }
  | { readonly ok: false; readonly problem: string };

/** The body, or what is wrong with it (field and rule, never the value). */
function parseBody(body: unknown): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problem: 'Body must be a JSON object' };
  }
  const parsed = AuthResetBody.safeParse(matchKeys(body as Record<string, unknown>, AuthResetBody));
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problem: parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; '),
  };
}

/** The reset's context: a Connection for this request, without a session (the token is the credential). */
function contextFor(services: Services, request: IncomingMessage, clientAddress: string): CallContext {
  const connection = {
    id: newConnectionId(),
    transport: 'http' as const,
    clientAddress,
    currentCaller: () => Promise.resolve(null),
    bindSession: () => undefined,
  };
  const abort = new AbortController();
  request.once('close', () => abort.abort());
  return { services, connection, caller: null, signal: abort.signal };
}

/** Payabli's own words for a failure that is not the caller's. */
const PAYABLI_TEXTS: Readonly<Record<number, string>> = {
  500: 'Internal API Error',
  503: 'Database connection error',
};

/** The audit event of a refused authreset, without its reason. */
const refusedBy = (caller: string) =>
  ({ step: 'User/authreset', caller, targetUserId: null, outcome: 'refused' }) as const;

export interface AuthResetEnv {
  readonly services: Services;
  /** The whole configuration: the body bound, the entry points and the per-token limit. */
  readonly config: Config;
  /** The peer's address (honours TRUST_PROXY), for the audit. */
  clientAddressOf(request: IncomingMessage): string;
}

export function authResetRoutes(env: AuthResetEnv): Route[] {
  const { services, config } = env;
  const { logger, store } = services;

  /** The token behind the requestToken header, or null when it is missing or no token's. */
  async function authenticate(request: IncomingMessage): Promise<ApiTokenRecord | null> {
    const value = request.headers.requesttoken;
    const token = (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
    if (token === '' || token.length > MAX_TOKEN_LENGTH) return null;
    return store.apiTokens.findByHash(hashApiToken(token));
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (
      status: number,
      responseText: string,
      headers: Readonly<Record<string, string>> = {},
    ): void => sendJson(response, status, { isSuccess: status === 200, responseText }, headers);
    const clientAddress = env.clientAddressOf(request);
    let started: { context: CallContext; caller: string } | undefined;
    try {
      const token = await authenticate(request);
      if (token === null) {
        logger.warn({ address: clientAddress }, 'authreset refused: missing or unknown requestToken');
        throw new HttpRefusal(401, new OmsError('NotAuthorized', 'Unauthorized'));
      }
      const parsed = parseBody(await readJsonBody(request, config.maxFrameBytes));
      if (!parsed.ok) throw new HttpRefusal(400, new OmsError('InvalidRequest', parsed.problem));
      const { email, entry } = parsed.value;
      // before the entry's existence, so a limited token cannot probe which entries there are
      if (token.entries.length > 0 && (entry == null || !token.entries.includes(entry))) {
        logger.warn(
          { token: token.name, address: clientAddress },
          'authreset refused: entry not allowed for token',
        );
        throw new HttpRefusal(
          403,
          new OmsError('NotAuthorized', 'Forbidden: this token may not use that entry'),
        );
      }
      const point = entry == null ? undefined : config.entryPoints.get(entry);
      if (entry != null && point === undefined) {
        throw new HttpRefusal(400, new OmsError('InvalidRequest', 'entry: unknown entry point'));
      }
      const context = contextFor(services, request, clientAddress);
      started = { context, caller: `token:${token.name}` };
      const decision = await store.limits.hit(
        `authreset:token:${token.tokenHash}`,
        config.authReset.tokenLimit,
        config.authReset.tokenWindowSeconds,
      );
      if (!decision.allowed) {
        const refusal = new HttpRefusal(
          429,
          new OmsError(
            'OperationFailed',
            `Too many requests; retry after ${decision.retryAfterSeconds} seconds`,
          ),
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
        await audit(context, { ...refusedBy(started.caller), reason: 'token rate limited' });
        throw refusal;
      }
      // the user's own language wins; this one is for users without one
      const language = pickLanguage(acceptLanguageTags(request.headers['accept-language']));
      const mail: ResetMailSettings = {
        ...(point === undefined ? {} : { pageUrl: point.resetPageUrl }),
        ...(point?.fromName == null ? {} : { fromName: point.fromName }),
        ...(language === null ? {} : { language }),
      };
      await resetByEmail(email, context, mail, { step: 'User/authreset', caller: started.caller });
      return reply(200, 'Success');
    } catch (error) {
      const failure = httpFailureOf(error);
      if (failure === null) return;
      // a refusal above is audited where it is decided; a failure of the reset step is audited here
      if (started && failure.status >= 500) {
        await audit(started.context, { ...refusedBy(started.caller), reason: refusalReason(error) });
      }
      if (failure.unexpected) logger.error({ err: error, address: clientAddress }, 'authreset failed');
      else if (failure.status === 503)
        logger.warn({ address: clientAddress }, 'authreset: store unavailable');
      const text = PAYABLI_TEXTS[failure.status] ?? failure.error.detail ?? failure.error.errormsg;
      return reply(failure.status, text, failure.headers);
    }
  }

  return [{ method: 'POST', path: AUTH_RESET_PATH, handle }];
}
