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
