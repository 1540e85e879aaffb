// Where the reset-complete scenario reads the codes the gateway mailed: the dev outbox over HTTP, or a local
// SendGrid-compatible sink this process runs. Codes stay in memory here; they are never printed.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** What a reset link carries in its #fragment (core/reset-link.ts buildResetLink). */
export interface ResetLinkCode {
  readonly userId: number;
  readonly pendingCode: string;
}

/** Reads UserId and PendingCode from a reset link; null when it is not one. */
export function parseResetLink(link: string): ResetLinkCode | null {
  const at = link.indexOf('#');
  if (at < 0) return null;
  const fragment = new URLSearchParams(link.slice(at + 1));
  const userId = Number(fragment.get('UserId'));
  const pendingCode = fragment.get('PendingCode');
  if (!Number.isSafeInteger(userId) || userId <= 0 || !pendingCode) return null;
  return { userId, pendingCode };
}

export interface MailSource {
  start(): Promise<void>;
  /**
   * Resolves with the newest code mailed to the user that was not handed out before; rejects after
   * `timeoutMs`. One wait per user at a time: the scenario never runs two cycles of one user at once.
   */
  nextCode(userId: number, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

interface Waiter {
  readonly resolve: (code: string) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** The bookkeeping both sources share: the latest code seen per user, the last one handed out, the waits. */
class CodeBook {
  private readonly latest = new Map<number, string>();
  private readonly handedOut = new Map<number, string>();
  readonly waiters = new Map<number, Waiter>();

  /** A code seen in a mail, newest last. */
  offer(userId: number, code: string): void {
    if (this.handedOut.get(userId) === code) return; // a resent copy of a mail already used
    this.latest.set(userId, code);
    const waiter = this.waiters.get(userId);
    if (waiter !== undefined) this.handOut(userId, waiter);
  }

  wait(userId: number, timeoutMs: number): Promise<string> {
    if (this.waiters.has(userId)) {
      return Promise.reject(new Error(`already waiting for a reset mail to user ${userId}`));
    }
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(userId);
        reject(new Error(`no new reset mail to user ${userId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = { resolve, reject, timer };
      this.waiters.set(userId, waiter);
      if (this.latest.has(userId)) this.handOut(userId, waiter);
    });
  }

  private handOut(userId: number, waiter: Waiter): void {
    const code = this.latest.get(userId)!;
    this.latest.delete(userId);
    this.handedOut.set(userId, code);
    this.waiters.delete(userId);
    clearTimeout(waiter.timer);
    waiter.resolve(code);
  }

  rejectAll(reason: string): void {
    for (const [userId, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(reason));
      this.waiters.delete(userId);
    }
  }
}

export interface OutboxOptions {
  /** pause between two reads while someone waits, default 5 ms */
  readonly intervalMs?: number;
}

/**
 * Reads GET /dev/outbox (newest first) while a cycle waits for its mail; one read serves every waiting cycle.
 * The outbox keeps the last 50 mails, so more than ~40 cycles in flight can miss theirs: use the sink then.
 */
export function outboxSource(outboxUrl: string, options: OutboxOptions = {}): MailSource {
  const book = new CodeBook();
  const intervalMs = options.intervalMs ?? 5;
  let polling = false;
  let stopped = false;

  async function readOnce(): Promise<void> {
    const response = await fetch(outboxUrl);
    if (!response.ok) throw new Error(`GET ${outboxUrl} answered ${response.status}`);
    const body = (await response.json()) as { messages?: { kind?: unknown; link?: unknown }[] };
    const newest = new Map<number, string>();
    for (const message of body.messages ?? []) {
      if (message.kind !== 'reset' || typeof message.link !== 'string') continue;
      const parsed = parseResetLink(message.link);
      // newest first: the first mail of a user is the one to use
      if (parsed !== null && !newest.has(parsed.userId)) newest.set(parsed.userId, parsed.pendingCode);
    }
    for (const [userId, code] of newest) if (book.waiters.has(userId)) book.offer(userId, code);
  }

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      while (!stopped && book.waiters.size > 0) {
        try {
          await readOnce();
        } catch (error) {
          book.rejectAll(`dev outbox unreadable: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        if (book.waiters.size > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } finally {
      polling = false;
    }
  }

  return {
    start: () => Promise.resolve(),
    nextCode(userId, timeoutMs) {
      const code = book.wait(userId, timeoutMs);
      void poll();
      return code;
    },
    stop: () => {
      stopped = true;
      book.rejectAll('load test stopped');
      return Promise.resolve();
    },
  };
}

/** The link of a SendGrid v3 mail body: the dynamic template's `link`, or the one in the text part. */
function linkOfSendGridBody(body: unknown): string | null {
  const mail = body as {
    personalizations?: { dynamic_template_data?: { link?: unknown } }[];
    content?: { type?: unknown; value?: unknown }[];
  } | null;
  const fromTemplate = mail?.personalizations?.[0]?.dynamic_template_data?.link;
  if (typeof fromTemplate === 'string') return fromTemplate;
  const text = mail?.content?.find((part) => part.type === 'text/plain')?.value;
  return typeof text === 'string' ? (/https?:\/\/\S+#\S+/.exec(text)?.[0] ?? null) : null;
}

export interface SinkOptions {
  /** port to listen on; the gateway's SENDGRID_BASE_URL must name it */
  readonly port: number;
  /** default 127.0.0.1 */
  readonly host?: string;
}

/**
 * A SendGrid v3 stand-in (POST /v3/mail/send → 202) for a gateway started with SENDGRID_API_KEY=SG.<anything>
 * and SENDGRID_BASE_URL=http://127.0.0.1:<port>: every mail stays in this process, none leaves the machine.
 */
export function sinkSource(options: SinkOptions): MailSource & { readonly mails: () => number } {
  const book = new CodeBook();
  let server: Server | undefined;
  let mails = 0;

  function answer(request: IncomingMessage, response: ServerResponse, text: string): void {
    const path = new URL(request.url ?? '/', 'http://sink.invalid').pathname;
    if (request.method !== 'POST' || path !== '/v3/mail/send') {
      response.writeHead(404).end();
      return;
    }
    if (!/^Bearer \S+/.test(request.headers.authorization ?? '')) {
      response.writeHead(401).end();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      response.writeHead(400).end();
      return;
    }
    mails++;
    const link = linkOfSendGridBody(body);
    const parsed = link === null ? null : parseResetLink(link);
    if (parsed !== null) book.offer(parsed.userId, parsed.pendingCode);
    response.writeHead(202, { 'content-length': 0 }).end();
  }

  return {
    mails: () => mails,
    start: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((request, response) => {
          const chunks: Buffer[] = [];
          request.on('data', (chunk: Buffer) => chunks.push(chunk));
          request.on('end', () => answer(request, response, Buffer.concat(chunks).toString('utf8')));
        });
        server.once('error', reject);
        server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
      }),
    nextCode: (userId, timeoutMs) => book.wait(userId, timeoutMs),
    stop: () => {
      book.rejectAll('load test stopped');
      const open = server;
      if (open === undefined) return Promise.resolve();
      open.closeAllConnections();
      return new Promise<void>((resolve) => open.close(() => resolve()));
    },
  };
}
