// The reset page's script: takes UserId and PendingCode from the link, hides them, and calls ResetPassword2 once per submit.
// Runs in the browser only (bundled by page/build.ts); nothing is sent until the user submits.
import { connect, OmsCallError } from '../client/oms-client';
import type { OmsClient } from '../client/oms-client';
import { isLanguage, PAGE_CATALOGUES, pickLanguage, plural, rulesOf } from './i18n';
import type { Language, PageText } from './i18n';

/** What the reset link carries, kept in memory only. */
interface ResetLink {
  readonly userId: number;
  readonly pendingCode: string;
}

/**
 * The page's language: the link's `lang` (the mail names the user's own), else the browser's languages, else what
 * the gateway rendered (from Accept-Language).
 */
export function chooseLanguage(
  hash: string,
  search: string,
  browser: readonly string[],
  rendered: string,
): Language {
  const asked = (
    new URLSearchParams(hash.replace(/^#/, '')).get('lang') ?? new URLSearchParams(search).get('lang')
  )?.toLowerCase();
  if (asked !== undefined && isLanguage(asked)) return asked;
  return pickLanguage(browser) ?? (isLanguage(rendered) ? rendered : 'en');
}

/**
 * The gateway's reason for refusing a password in the page's language. The gateway speaks English: an English
 * page shows its words as they are, another language the catalogue's for the reasons the policy has.
 */
function rejectionText(language: Language, text: PageText, detail: string | null): string {
  if (language === 'en' && detail !== null && detail.trim() !== '') return sentence(detail).trim();
  if (detail !== null && /user name or e-mail/i.test(detail)) return text.rejectedOwn;
  if (detail !== null && /too common/i.test(detail)) return text.rejectedCommon;
  return text.rejected;
}

type Outcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'unreachable' }
  | { readonly kind: 'no-answer' }
  | { readonly kind: 'failed'; readonly reason: string | null };

type StateName = 'form' | 'success' | 'invalid' | 'unreachable';

/** bound on opening the socket, then on the call (argon2 hashing on a busy gateway takes a while) */
const CONNECT_TIMEOUT_MS = 10_000;
const CALL_TIMEOUT_MS = 20_000;

const USER_ID = /^[1-9][0-9]{0,14}$/;
/** The gateway's codes are UUIDs; this also admits other URL-safe tokens of a sane length, and nothing else. */
const PENDING_CODE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The link's parameters: `#UserId=…&PendingCode=…` (the gateway's mail; a fragment never reaches a server or a
 * Referer) or the OMS front end's `?UserId=…&verifycode=…`. Null when missing or garbled.
 */
export function readResetLink(hash: string, search: string): ResetLink | null {
  const fragment = new URLSearchParams(hash.replace(/^#/, ''));
  const query = new URLSearchParams(search);
  const fromFragment = fragment.has('UserId') || fragment.has('PendingCode');
  const userId = fromFragment ? fragment.get('UserId') : query.get('UserId');
  const pendingCode = fromFragment
    ? fragment.get('PendingCode')
    : (query.get('verifycode') ?? query.get('PendingCode'));
  if (userId === null || pendingCode === null) return null;
  if (!USER_ID.test(userId) || !PENDING_CODE.test(pendingCode)) return null;
  return { userId: Number(userId), pendingCode };
}

/** Same origin by default: the socket beside the page (…/reset → …/WSGateway), ws: or wss: after the page. */
export function gatewayUrlFor(configured: string, pageUrl: string): string {
  if (configured !== '') return configured;
  const url = new URL('WSGateway', pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.href;
}

/** Length as the gateway counts it: Unicode code points after NFKC. */
function passwordLength(password: string): number {
  return [...password.normalize('NFKC')].length;
}

/** One ResetPassword2 call on a fresh socket, mapped to what the page shows. Never throws. */
async function submitReset(gatewayUrl: string, link: ResetLink, password: string): Promise<Outcome> {
  let client: OmsClient;
  try {
    client = await connect(gatewayUrl, { connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: CALL_TIMEOUT_MS });
  } catch {
    return { kind: 'unreachable' };
  }
  try {
    const reply = await client.resetPassword2({
      UserId: link.userId,
      Password: password,
      PendingCode: link.pendingCode,
    });
    return reply.result === true ? { kind: 'success' } : { kind: 'failed', reason: reply.detail };
  } catch (error) {
    // sent but unanswered (timeout, socket dropped): the gateway may or may not have changed the password
    if (!(error instanceof OmsCallError) || error.kind !== 'response') return { kind: 'no-answer' };
    if (error.errorcode === 104) return { kind: 'invalid' };
    if (error.errorcode === 100) return { kind: 'rejected', reason: error.detail ?? '' };
    return { kind: 'failed', reason: error.detail };
  } finally {
    void client.close().catch(() => undefined);
  }
}

/** The gateway's detail as a sentence followed by a space, or nothing. */
function sentence(text: string | null): string {
  if (text === null || text.trim() === '') return '';
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? `${trimmed} ` : `${trimmed}. `;
}

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`reset page: #${id} is missing`);
  return found;
}

/** Puts the page's fixed text in `language` (the gateway rendered it in another). */
function translate(language: Language, minLength: number, maxLength: number): void {
  const text = PAGE_CATALOGUES[language];
  document.documentElement.lang = language;
  for (const node of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = node.dataset.i18n as keyof PageText;
    const value = text[key];
    if (typeof value === 'string') node.textContent = value;
  }
  const rules = document.getElementById('rules-list');
  if (rules !== null) {
    rules.replaceChildren(
      ...rulesOf(language, minLength, maxLength).map((rule) => {
        const item = document.createElement('li');
        item.textContent = rule;
        return item;
      }),
    );
  }
}

function start(): void {
  const app = element('app', HTMLElement);
  const form = element('reset-form', HTMLFormElement);
  const password = element('password', HTMLInputElement);
  const confirm = element('confirm', HTMLInputElement);
  const passwordError = element('password-error', HTMLElement);
  const confirmError = element('confirm-error', HTMLElement);
  const toggle = element('toggle', HTMLButtonElement);
  const submit = element('submit', HTMLButtonElement);
  const submitLabel = element('submit-label', HTMLElement);
  const retry = element('retry', HTMLButtonElement);
  const retryLabel = element('retry-label', HTMLElement);
  const unreachableHeading = element('unreachable-heading', HTMLElement);
  const unreachableText = element('unreachable-text', HTMLElement);
  const status = element('status', HTMLElement);

  const language = chooseLanguage(
    location.hash,
    location.search,
    navigator.languages,
    document.documentElement.lang,
  );
  const text = PAGE_CATALOGUES[language];
  const gatewayUrl = gatewayUrlFor(app.dataset.gatewayUrl ?? '', location.href);
  const minLength = Number(app.dataset.minLength ?? '8');
  const maxLength = Number(app.dataset.maxLength ?? '128');

  if (document.documentElement.lang !== language) translate(language, minLength, maxLength);
  let link = readResetLink(location.hash, location.search);
  // the code must not stay in the address bar, the history, a bookmark or a screenshot
  if (location.hash !== '' || location.search !== '') history.replaceState(null, '', location.pathname);

  /** True while a ResetPassword2 call is in flight: a second click or Enter must not send another. */
  let busy = false;

  function show(state: StateName, focus: HTMLElement | null = null): void {
    for (const section of document.querySelectorAll<HTMLElement>('section.state')) {
      section.hidden = section.id !== `state-${state}`;
    }
    const heading = document.querySelector<HTMLElement>(`#state-${state} h1`);
    (focus ?? heading)?.focus();
    app.dataset.state = state;
  }

  function setFieldError(input: HTMLInputElement, message: HTMLElement, text: string | null): void {
    message.textContent = text ?? '';
    message.hidden = text === null;
    if (text === null) input.removeAttribute('aria-invalid');
    else input.setAttribute('aria-invalid', 'true');
  }

  function setBusy(value: boolean): void {
    busy = value;
    submit.disabled = value;
    retry.disabled = value;
    password.readOnly = value;
    confirm.readOnly = value;
    form.setAttribute('aria-busy', String(value));
    submit.setAttribute('aria-busy', String(value));
    retry.setAttribute('aria-busy', String(value));
    submitLabel.textContent = value ? text.saving : text.submit;
    retryLabel.textContent = value ? text.retrying : text.retry;
    status.textContent = value ? text.savingStatus : '';
  }

  /** Cheap checks only (the gateway is the authority): length and that both fields match. */
  function checkFields(): boolean {
    const length = passwordLength(password.value);
    const passwordProblem =
      length < minLength
        ? plural(language, minLength, text.tooShort)
        : length > maxLength
          ? plural(language, maxLength, text.tooLong)
          : null;
    const confirmProblem =
      passwordProblem === null && confirm.value !== password.value ? text.mismatch : null;
    setFieldError(password, passwordError, passwordProblem);
    setFieldError(confirm, confirmError, confirmProblem);
    if (passwordProblem !== null) password.focus();
    else if (confirmProblem !== null) confirm.focus();
    return passwordProblem === null && confirmProblem === null;
  }

  async function send(): Promise<void> {
    if (busy || link === null) return;
    setBusy(true);
    const outcome = await submitReset(gatewayUrl, link, password.value);
    setBusy(false);
    switch (outcome.kind) {
      case 'success':
        link = null;
        password.value = '';
        confirm.value = '';
        show('success');
        return;
      case 'invalid':
        link = null;
        password.value = '';
        confirm.value = '';
        show('invalid');
        return;
      case 'rejected':
        show('form', password);
        setFieldError(password, passwordError, rejectionText(language, text, outcome.reason));
        password.select();
        return;
      case 'unreachable':
        unreachableHeading.textContent = text.unreachableHeading;
        unreachableText.textContent = text.unreachableText;
        show('unreachable');
        return;
      case 'no-answer':
        unreachableHeading.textContent = text.noAnswerHeading;
        unreachableText.textContent = text.noAnswerText;
        show('unreachable');
        return;
      case 'failed':
        unreachableHeading.textContent = text.failedHeading;
        // the gateway's detail (English: a store outage, a limit's wait) leads on an English page
        unreachableText.textContent = `${language === 'en' ? sentence(outcome.reason) : ''}${text.failedText}`;
        show('unreachable');
        return;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy || !checkFields()) return;
    void send();
  });
  retry.addEventListener('click', () => void send());
  toggle.addEventListener('click', () => {
    const reveal = toggle.getAttribute('aria-pressed') !== 'true';
    toggle.setAttribute('aria-pressed', String(reveal));
    password.type = reveal ? 'text' : 'password';
    confirm.type = reveal ? 'text' : 'password';
  });
  // an error stays until the field it is about changes
  password.addEventListener('input', () => setFieldError(password, passwordError, null));
  confirm.addEventListener('input', () => setFieldError(confirm, confirmError, null));

  // the heading takes focus, not the first field: a phone would pop its keyboard over the rules
  show(link === null ? 'invalid' : 'form');
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}
