// Which browser origins may open a WebSocket: the configured ones and the gateway's own host; programs send none.

/**
 * Whether a WebSocket upgrade may go ahead, judged by its `Origin` and `Host` headers.
 *
 * - No Origin: not a browser (trading clients, scripts, load tools). Origin is what stops a browser page from
 *   acting with a user's ambient rights; a program decides for itself what it sends, so there is nothing to check.
 * - An Origin in `allowed` (ALLOWED_ORIGINS; by default the origin of RESET_PAGE_URL).
 * - An Origin whose scheme and host are the request's: the gateway's own reset page. The scheme too, so a plain
 *   http page on the gateway's host (which anyone on the path can rewrite) cannot call an https gateway. Behind
 *   a TLS terminator the request's scheme is the trusted proxy's X-Forwarded-Proto (client-address.ts); without
 *   TRUST_PROXY an https page is allowed through ALLOWED_ORIGINS (by default the origin of RESET_PAGE_URL).
 *   A browser sets Origin and Host itself and pages cannot forge either, and a page of another site has its
 *   own host in Origin while Host names the gateway it connects to. (A DNS-rebinding page does get its own name
 *   in both, but the gateway keeps no cookies or other ambient credentials, so such a page can do no more than
 *   any program without an Origin.)
 * - Everything else is refused, including the opaque origin "null" (sandboxed frames, file: pages).
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
  /** the scheme the request arrived with, 'http:' or 'https:' */
  scheme: string,
): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // "null" and other non-URLs
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if (allowed.includes(parsed.origin)) return true;
  return (
    host !== undefined && parsed.protocol === scheme && parsed.host === normalizeHost(host, parsed.protocol)
  );
}

/** The Host header as URL.host spells it (lower case, the scheme's default port dropped); '' when malformed. */
function normalizeHost(host: string, protocol: string): string {
  try {
    const url = new URL(`${protocol}//${host}`);
    // a Host with a path, user info or the like is not a host: never equal to a parsed Origin's host
    return url.pathname === '/' && url.username === '' && url.search === '' ? url.host : '';
  } catch {
    return '';
  }
}
