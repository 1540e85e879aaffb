// Who the client is: its address behind the trusted proxies (TRUST_PROXY), and the key per-address limits use.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * TRUST_PROXY, parsed: trust no proxy; trust the nearest `hops` proxies; or trust the proxies at these
 * addresses and subnets. Like Express's `trust proxy`.
 */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'subnets'; readonly subnets: readonly string[] };

/** Names TRUST_PROXY takes for the usual private ranges (Express's names). */
const NAMED_SUBNETS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

const TRUST_HELP =
  'write the trusted proxies as addresses or CIDRs, comma-separated (e.g. 10.0.0.0/8,fd00::/8, or loopback, ' +
  'linklocal, uniquelocal), or the number of proxies in front (e.g. 1); false or unset trusts none';

/** Parses TRUST_PROXY; throws an Error whose message says what to write instead. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false' || text === '0') return { kind: 'none' };
  if (text === 'true') {
    // the old meaning (the last X-Forwarded-For entry, whoever sent it) does not say who is trusted
    throw new Error(`true no longer says which proxies to trust: ${TRUST_HELP}`);
  }
  if (/^[0-9]+$/.test(text)) {
    const hops = Number(text);
    if (hops > 100) throw new Error(`at most 100 proxies: ${TRUST_HELP}`);
    return { kind: 'hops', hops };
  }
  const subnets: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim().toLowerCase())) {
    const named = NAMED_SUBNETS[entry];
    if (named !== undefined) subnets.push(...named);
    else if (parseSubnet(entry) !== null) subnets.push(entry);
    else throw new Error(`an entry is not an address, a CIDR or a known name: ${TRUST_HELP}`);
  }
  return { kind: 'subnets', subnets };
}

/** "10.0.0.0/8" or "2001:db8::1" as address, family and prefix; null when malformed. */
function parseSubnet(text: string): { address: string; family: 'ipv4' | 'ipv6'; prefix: number } | null {
  const [address = '', prefixText, ...rest] = text.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const bits = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits) return null;
  return { address, family: version === 4 ? 'ipv4' : 'ipv6', prefix };
}

/** Whether the address at `hop` (0: the socket's peer, 1: the last X-Forwarded-For entry, …) is a trusted proxy. */
type IsTrusted = (address: string, hop: number) => boolean;

function trustFunction(trust: TrustProxy): IsTrusted {
  if (trust.kind === 'none') return () => false;
  if (trust.kind === 'hops') return (_address, hop) => hop < trust.hops;
  const list = new BlockList();
  for (const subnet of trust.subnets) {
    const parsed = parseSubnet(subnet);
    if (parsed !== null) list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (address) => list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
}

/**
 * An address as one canonical string: IPv4 dotted, IPv4-mapped IPv6 as its IPv4, other IPv6 as RFC 5952 spells
 * it (WHATWG URL's serializer). Accepts the forms proxies write: `[v6]`, `[v6]:port`, `v4:port`, a `%zone`.
 * Null when it is not an address ("unknown", a name, garbage).
 */
export function normalizeAddress(text: string): string | null {
  let value = text.trim();
  const bracketed = /^\[([^\]]+)\](?::[0-9]{1,5})?$/.exec(value);
  if (bracketed !== null) value = bracketed[1]!;
  else if (/^[0-9.]+:[0-9]{1,5}$/.test(value)) value = value.slice(0, value.indexOf(':'));
  value = value.replace(/%.*$/, '');
  const version = isIP(value);
  if (version === 4) return value;
  if (version !== 6) return null;
  const canonical = new URL(`http://[${value}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped === null) return canonical;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The eight 16-bit groups of a canonical IPv6 address. */
function ipv6Groups(canonical: string): number[] {
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The key per-address limits count by: an IPv4 address as is, an IPv6 address as its network of `ipv6Prefix`
 * bits (`2001:db8:1:2::/64`: one host usually holds a whole /64, so counting single addresses would give it
 * 2^64 buckets). Anything else (no address known) stays as it is.
 */
export function addressKey(address: string, ipv6Prefix: number): string {
  const normal = normalizeAddress(address);
  if (normal === null) return address;
  if (isIP(normal) === 4 || ipv6Prefix >= 128) return normal;
  const groups = ipv6Groups(normal).map((group, index) => {
    const keep = Math.min(16, Math.max(0, ipv6Prefix - index * 16));
    return keep === 0 ? 0 : group & ((0xffff << (16 - keep)) & 0xffff);
  });
  const network = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]`).hostname.slice(1, -1);
  return `${network}/${ipv6Prefix}`;
}

/** The entries of X-Forwarded-For, nearest last, over repeated headers. */
function forwardedEntries(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  return (Array.isArray(header) ? header.join(',') : header).split(',');
}

/**
 * The client's address. Walks from the socket's peer leftwards through X-Forwarded-For while the address at
 * hand is a trusted proxy; the first one that is not is the client. A malformed entry ends the walk at the
 * proxy that wrote it (it is the last address known to be real). When every hop is trusted, the furthest one.
 */
export function forwardedClientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  isTrusted: IsTrusted,
): string {
  let client = (peer === undefined ? null : normalizeAddress(peer)) ?? peer ?? 'unknown';
  if (!isTrusted(client, 0)) return client;
  const entries = forwardedEntries(forwardedFor);
  for (let hop = 1; hop <= entries.length; hop++) {
    const entry = normalizeAddress(entries[entries.length - hop]!);
    if (entry === null) return client;
    client = entry;
    if (!isTrusted(client, hop)) return client;
  }
  return client;
}

export interface ClientAddress {
  /** The client's full address, for logs. */
  readonly address: string;
  /** What limits count by (addressKey). */
  readonly key: string;
  /** The TCP peer's port (the proxy's, behind one), for logs: it tells which process holds a socket. */
  readonly port?: number;
}

export interface ClientAddressResolver {
  addressOf(request: IncomingMessage): ClientAddress;
  /** The scheme the client used: X-Forwarded-Proto from a trusted peer, else the socket's own. */
  schemeOf(request: IncomingMessage): 'http:' | 'https:';
}

export function createClientAddressResolver(options: {
  readonly trustProxy: TrustProxy;
  readonly addressIpv6Prefix: number;
}): ClientAddressResolver {
  const isTrusted = trustFunction(options.trustProxy);
  return {
    addressOf: (request) => {
      const address = forwardedClientAddress(
        request.socket.remoteAddress,
        request.headers['x-forwarded-for'],
        isTrusted,
      );
      return {
        address,
        key: addressKey(address, options.addressIpv6Prefix),
        port: request.socket.remotePort,
      };
    },
    schemeOf: (request) => {
      const own = (request.socket as { encrypted?: boolean }).encrypted === true ? 'https:' : 'http:';
      const peer = normalizeAddress(request.socket.remoteAddress ?? '');
      const header = request.headers['x-forwarded-proto'];
      if (peer === null || header === undefined || !isTrusted(peer, 0)) return own;
      // the first value, as Express reads it: the proxy facing the browser writes it
      const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
      return first === 'https' ? 'https:' : first === 'http' ? 'http:' : own;
    },
  };
}
