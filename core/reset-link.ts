// The reset link a mail carries: the page, then the user's id and the code in the #fragment.
/**
 * RESET_PAGE_URL#UserId=<id>&PendingCode=<code>. The code goes in the fragment, so browsers send it neither
 * to the page's server nor in Referer headers; the page reads it and only its submit uses it (mail scanners
 * open links). Built from configuration, never from a request's Host header.
 */
export function buildResetLink(pageUrl: string, userId: number, code: string): string {
  const [head, tail] = resetLinkParts(pageUrl, code);
  return `${head}${encodeURIComponent(String(userId))}${tail}`;
}

/** The reset link before and after its UserId, for a store step that learns the id itself (reset-flow.ts). */
export function resetLinkParts(pageUrl: string, code: string): [head: string, tail: string] {
  if (pageUrl.includes('#'))
    throw new Error('RESET_PAGE_URL must not have a #fragment: the link puts the code there');
  return [`${pageUrl}#UserId=`, `&PendingCode=${encodeURIComponent(code)}`];
}
