// The reset page on the gateway's own port: GET /reset, its script and its style, with a strict CSP and no caching.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { PASSWORD_MAX_LENGTH } from '../../core/password-policy';
import { PAGE_FILES } from '../../page/files';
import {
  acceptLanguageTags,
  DEFAULT_LANGUAGE,
  isLanguage,
  LANGUAGES,
  PAGE_CATALOGUES,
  pickLanguage,
  rulesOf,
} from '../../page/i18n';
import type { Language, PageText } from '../../page/i18n';
import type { Config } from '../config';
import type { Route } from './http-routes';
import type { Logger } from '../logger';

/** Where `npm run build` puts the page: dist/page, beside dist/gateway. */
export const DEFAULT_PAGE_DIR = path.resolve(__dirname, '..', '..', 'page');

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

interface PageAssets {
  /** The HTML in each language, rendered once. */
  readonly html: Readonly<Record<Language, Asset>>;
  readonly script: Asset;
  readonly style: Asset;
}

/** A Host header that is a plain host[:port] (name, IPv4 or [IPv6]); anything else could smuggle CSP syntax. */
const PLAIN_HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * The HTML in `language`, with the configuration written in as text and data attributes, so the page needs no
 * inline script and no request of its own before the user submits.
 */
export function renderPageHtml(
  template: string,
  config: Config,
  language: Language = DEFAULT_LANGUAGE,
): string {
  const text: PageText = PAGE_CATALOGUES[language];
  const rules = rulesOf(language, config.passwordPolicy.minLength, PASSWORD_MAX_LENGTH)
    .map((rule) => `<li>${escapeHtml(rule)}</li>`)
    .join('\n              ');
  const successUrl = config.reset.successUrl;
  const successNext =
    successUrl === null
      ? `<p class="hint" data-i18n="successClose">${escapeHtml(text.successClose)}</p>`
      : `<a class="link-button" href="${escapeHtml(successUrl)}" data-i18n="successContinue">${escapeHtml(text.successContinue)}</a>`;
  const values: Record<string, string> = {
    LANG: language,
    GATEWAY_URL: escapeHtml(config.reset.pageGatewayUrl ?? ''),
    MIN_LENGTH: String(config.passwordPolicy.minLength),
    MAX_LENGTH: String(PASSWORD_MAX_LENGTH),
    RULES: rules,
    SUCCESS_NEXT: successNext,
  };
  return template.replace(
    /\{\{(t:)?([A-Za-z_]+)\}\}/g,
    (placeholder, isText: string | undefined, name: string) => {
      const phrase = isText && Object.hasOwn(text, name) ? text[name as keyof PageText] : undefined;
      const value = isText ? (typeof phrase === 'string' ? escapeHtml(phrase) : undefined) : values[name];
      if (value === undefined) throw new Error(`reset page template: unknown placeholder ${placeholder}`);
      return value;
    },
  );
}

/** The page's language for a request: `?lang=xx` (the mail's link names the user's), else Accept-Language. */
export function pageLanguage(request: IncomingMessage, url: URL): Language {
  const asked = url.searchParams.get('lang')?.toLowerCase();
  if (asked !== undefined && isLanguage(asked)) return asked;
  return pickLanguage(acceptLanguageTags(request.headers['accept-language'])) ?? DEFAULT_LANGUAGE;
}

/**
 * Where the page may open sockets. The configured gateway's origin, or else the page's own host as ws: and wss:
 * (CSP's 'self' does not cover ws: in every browser). Both schemes, because behind a TLS terminator the gateway
 * cannot tell which one the browser used; an https page cannot open ws: anyway (mixed content).
 */
export function connectSources(config: Config, hostHeader: string | undefined): string {
  if (config.reset.pageGatewayUrl !== null) return new URL(config.reset.pageGatewayUrl).origin;
  const host =
    hostHeader !== undefined && PLAIN_HOST.test(hostHeader)
      ? hostHeader.toLowerCase()
      : new URL(config.reset.pageUrl).host;
  return `ws://${host} wss://${host}`;
}

/** Sent with the page and each of its files. */
export function pageSecurityHeaders(config: Config, request: IncomingMessage): Record<string, string> {
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connectSources(config, request.headers.host)}`,
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return {
    'content-security-policy': policy,
    'referrer-policy': 'no-referrer',
    // the page holds a one-time code in memory: no copy of it in any cache, and no stale script after a deploy
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY', // frame-ancestors for browsers without CSP 2
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

async function readPageAssets(pageDir: string, config: Config): Promise<PageAssets> {
  const [template, script, style] = await Promise.all([
    readFile(path.join(pageDir, PAGE_FILES.html), 'utf8'),
    readFile(path.join(pageDir, PAGE_FILES.script)),
    readFile(path.join(pageDir, PAGE_FILES.style)),
  ]);
  return {
    html: Object.fromEntries(
      LANGUAGES.map((language) => [
        language,
        {
          body: Buffer.from(renderPageHtml(template, config, language)),
          contentType: 'text/html; charset=utf-8',
        },
      ]),
    ) as Record<Language, Asset>,
    script: { body: script, contentType: 'text/javascript; charset=utf-8' },
    style: { body: style, contentType: 'text/css; charset=utf-8' },
  };
}

/**
 * The page's routes. The files are read on the first request and kept (the configuration they embed is frozen);
 * a gateway built without the page answers 503 on these paths and serves everything else.
 *
 * @param pageDir the built page, default dist/page (tests build it into a temporary folder)
 */
export function resetPageRoutes(config: Config, logger: Logger, pageDir: string = DEFAULT_PAGE_DIR): Route[] {
  let loading: Promise<PageAssets> | undefined;

  function assets(): Promise<PageAssets> {
    loading ??= readPageAssets(pageDir, config).catch((error: unknown) => {
      loading = undefined; // a later build is picked up without a restart
      throw error;
    });
    return loading;
  }

  function serve(pick: (assets: PageAssets, request: IncomingMessage, url: URL) => Asset) {
    return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> => {
      let asset: Asset;
      try {
        asset = pick(await assets(), request, url);
      } catch (error) {
        logger.error({ err: error, pageDir }, 'reset page not available: run `npm run build`');
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
        response.end('The password reset page is not available.\n');
        return;
      }
      response.writeHead(200, {
        'content-type': asset.contentType,
        'content-length': String(asset.body.length),
        ...pageSecurityHeaders(config, request),
        ...(asset.contentType.startsWith('text/html')
          ? { vary: 'Accept-Language', 'content-language': pageLanguage(request, url) }
          : {}),
      });
      response.end(request.method === 'HEAD' ? undefined : asset.body);
    };
  }

  return [
    {
      method: 'GET',
      path: '/reset',
      handle: serve((page, request, url) => page.html[pageLanguage(request, url)]),
    },
    { method: 'GET', path: `/reset/${PAGE_FILES.script}`, handle: serve((page) => page.script) },
    { method: 'GET', path: `/reset/${PAGE_FILES.style}`, handle: serve((page) => page.style) },
  ];
}
