// A local stand-in for SendGrid's v3 API (POST /v3/mail/send) on port 0: checks the key and the body's shape,
// records what it accepts, answers 202 with an empty body, and can be told to answer otherwise.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The v3 body, as far as the tests read it. */
export interface SendGridBody {
  personalizations: {
    to: { email: string; name?: string }[];
    dynamic_template_data?: Record<string, unknown>;
  }[];
  from: { email: string; name?: string };
  subject?: string;
  content?: { type: string; value: string }[];
  template_id?: string;
  tracking_settings?: Record<string, unknown>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** The status it was answered with. */
  readonly status: number;
}

export interface ScriptedResponse {
  readonly status: number;
  /** Runs before the answer is written, e.g. to take Redis away at the moment SendGrid accepts a mail. */
  readonly before?: () => void | Promise<void>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface SendGridServer {
  /** http://127.0.0.1:PORT, for SENDGRID_BASE_URL */
  readonly baseUrl: string;
  /** The key it accepts (starts with "SG.", as the client expects). */
  readonly apiKey: string;
  /** Every request, answered or refused, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Bodies of the mails it accepted (2xx), in arrival order. */
  readonly messages: SendGridBody[];
  /** Answers the next valid requests with these, in order; then 202 again. */
  respondWith(...responses: ScriptedResponse[]): void;
  /** Resolves once `count` mails were accepted. */
  waitForMessages(count: number): Promise<SendGridBody[]>;
  /** Resolves once `count` requests arrived (whatever the answer). */
  waitForRequests(count: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** A SendGrid-style error body. */
export function sendGridError(message: string, field: string | null = null): { errors: object[] } {
  return { errors: [{ message, field, help: null }] };
}

function shapeProblem(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const b = body as Partial<SendGridBody>;
  const personalizations = b.personalizations;
  if (!Array.isArray(personalizations) || personalizations.length === 0) return 'personalizations';
  for (const p of personalizations) {
    if (!Array.isArray(p?.to) || p.to.length === 0 || !p.to.every((to) => typeof to?.email === 'string')) {
      return 'personalizations.to';
    }
  }
  if (typeof b.from?.email !== 'string') return 'from.email';
  if (typeof b.template_id === 'string') return null;
  if (typeof b.subject !== 'string' || b.subject === '') return 'subject';
  if (!Array.isArray(b.content) || b.content.length === 0) return 'content';
  if (!b.content.every((c) => typeof c?.type === 'string' && typeof c.value === 'string' && c.value !== '')) {
    return 'content.value';
  }
  return null;
}

export async function startSendGridServer(apiKey = 'SG.test-key'): Promise<SendGridServer> {
  const requests: RecordedRequest[] = [];
  const messages: SendGridBody[] = [];
  const script: ScriptedResponse[] = [];
  const waiters: (() => void)[] = [];

  function notify(): void {
    for (const waiter of [...waiters]) waiter();
  }

  function waitUntil<T>(ready: () => T | undefined): Promise<T> {
    const now = ready();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const check = (): void => {
        const value = ready();
        if (value === undefined) return;
        waiters.splice(waiters.indexOf(check), 1);
        resolve(value);
      };
      waiters.push(check);
    });
  }

  function answer(request: IncomingMessage, response: ServerResponse, text: string): void {
    const path = new URL(request.url ?? '/', 'http://sendgrid.invalid').pathname;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // recorded as the raw text; refused below
    }
    const reply = (status: number, replyBody?: unknown, headers: Record<string, string> = {}): void => {
      requests.push({ method: request.method ?? '', path, headers: request.headers, body, status });
      if (status >= 200 && status < 300) messages.push(body as SendGridBody);
      const payload = replyBody === undefined ? '' : JSON.stringify(replyBody);
      response.writeHead(status, {
        ...(payload ? { 'content-type': 'application/json' } : {}),
        'content-length': Buffer.byteLength(payload),
        ...headers,
      });
      response.end(payload);
      notify();
    };
    if (request.method !== 'POST' || path !== '/v3/mail/send') return reply(404, sendGridError('Not Found'));
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      return reply(401, sendGridError('The provided authorization grant is invalid, expired, or revoked'));
    }
    const problem = shapeProblem(body);
    if (problem !== null) return reply(400, sendGridError(`Invalid ${problem}`, problem));
    const next = script.shift();
    if (next?.before)
      return void Promise.resolve(next.before()).then(() => reply(next.status, next.body, next.headers));
    if (next) return reply(next.status, next.body, next.headers);
    return reply(202);
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => answer(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    messages,
    respondWith: (...responses) => script.push(...responses),
    waitForMessages: (count) =>
      waitUntil(() => (messages.length >= count ? messages.slice(0, count) : undefined)),
    waitForRequests: (count) =>
      waitUntil(() => (requests.length >= count ? requests.slice(0, count) : undefined)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The reset link in a recorded mail (template data or the text part) and the values in its fragment. */
export function resetLinkOf(message: SendGridBody): { link: string; userId: string; pendingCode: string } {
  const fromTemplate = message.personalizations[0]?.dynamic_template_data?.link;
  const text = message.content?.find((c) => c.type === 'text/plain')?.value ?? '';
  const link = typeof fromTemplate === 'string' ? fromTemplate : /https?:\/\/\S+#\S+/.exec(text)?.[0];
  if (link === undefined) throw new Error('no reset link in the mail');
  const fragment = new URLSearchParams(link.slice(link.indexOf('#') + 1));
  const userId = fragment.get('UserId');
  const pendingCode = fragment.get('PendingCode');
  if (userId === null || pendingCode === null)
    throw new Error(`reset link without UserId or PendingCode: ${link}`);
  return { link, userId, pendingCode };
}
