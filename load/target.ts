// Load tests stay on this machine unless the operator says otherwise: a stray URL must not load-test production.
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

/** Whether a host name is the loopback interface (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '::1' ||
    host === '0:0:0:0:0:0:0:1' ||
    host === '::ffff:127.0.0.1'
  );
}

/** Parses a ws:// or wss:// URL and refuses one that leaves the machine unless `allowRemote`. */
export function checkTarget(url: string, allowRemote: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TargetError(`Not a URL: ${url}`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TargetError(`The URL must start with ws:// or wss://, not ${parsed.protocol}//`);
  }
  if (!allowRemote && !isLoopbackHost(parsed.hostname)) {
    throw new TargetError(
      `Refusing to load-test ${parsed.hostname}: not a loopback address. Pass --allow-remote if you mean it.`,
    );
  }
  return parsed;
}

/** Sockets per source address before the automatic spread takes the next one (the ephemeral ports are ~28,000). */
export const SOCKETS_PER_SOURCE = 25_000;

/**
 * The source addresses of a run: the given ones, or, past SOCKETS_PER_SOURCE sockets to loopback targets only,
 * 127.0.0.2, 127.0.0.3, … as many as it takes (Linux answers on all of 127.0.0.0/8); otherwise none.
 */
export function sourceAddressesFor(
  connections: number,
  urls: readonly string[],
  given: readonly string[],
): string[] {
  if (given.length > 0) return [...given];
  // IPv4 loopback only: a 127.0.0.x source cannot reach [::1]
  const loopback = urls.every((url) => {
    const host = new URL(url).hostname;
    return isLoopbackHost(host) && !host.includes(':');
  });
  if (connections <= SOCKETS_PER_SOURCE || !loopback) return [];
  return Array.from(
    { length: Math.ceil(connections / SOCKETS_PER_SOURCE) },
    (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`,
  );
}
