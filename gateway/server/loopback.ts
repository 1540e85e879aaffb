// Loopback addresses and Host headers: development mode binds only to loopback, and its routes answer only to loopback names.
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a listening address (HOST, METRICS_HOST) is loopback: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost') return true;
  const family = isIP(name);
  if (family === 4) return LOOPBACK.check(name, 'ipv4');
  if (family === 6) return LOOPBACK.check(name, 'ipv6');
  return false;
}

/**
 * Whether a request's Host header names this machine's loopback (localhost, 127.x.x.x, [::1], each with or
 * without a port). A page on another name that resolves to 127.0.0.1 (DNS rebinding) sends its own name here,
 * so routes that must stay local (the dev outbox, metrics) check it.
 */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(hostHeader.trim());
  if (match === null) return false;
  const bracketed = match[1];
  if (bracketed !== undefined) return isIP(bracketed) === 6 && isLoopbackAddress(bracketed);
  return isLoopbackAddress(match[2] ?? '');
}
