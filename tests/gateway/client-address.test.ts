// The client's address behind trusted proxies, and the key per-address limits count by (IPv6 /64, IPv4-mapped).
import {
  addressKey,
  createClientAddressResolver,
  normalizeAddress,
  parseTrustProxy,
} from '../../gateway/server/client-address';
import type { TrustProxy } from '../../gateway/server/client-address';
import { ConfigError, loadConfig } from '../../gateway/config';
import type { IncomingMessage } from 'node:http';
import { startGateway, testRedisUrl, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { openClient } from '../support/ws-client';

/** A request as the resolver sees it: the socket's peer and the headers. */
function request(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

function clientOf(trust: string, peer: string, forwardedFor?: string): string {
  const resolver = createClientAddressResolver({ trustProxy: parseTrustProxy(trust), addressIpv6Prefix: 64 });
  const headers: Record<string, string> =
    forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return resolver.addressOf(request(peer, headers)).address;
}

describe('TRUST_PROXY', () => {
  it('refuses true at start-up and says what to write instead', () => {
    expect(() => loadConfig({ OMS_DEV: '1', TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ OMS_DEV: '1', TRUST_PROXY: 'true' })).toThrow(
      /TRUST_PROXY: true no longer says which proxies to trust: write the trusted proxies as addresses or CIDRs/,
    );
  });

  it('reads false, unset, a hop count, and a list of addresses, CIDRs and names', () => {
    expect(loadConfig({ OMS_DEV: '1' }).trustProxy).toEqual({ kind: 'none' });
    expect(loadConfig({ OMS_DEV: '1', TRUST_PROXY: 'false' }).trustProxy).toEqual({ kind: 'none' });
    expect(loadConfig({ OMS_DEV: '1', TRUST_PROXY: '2' }).trustProxy).toEqual({ kind: 'hops', hops: 2 });
    expect(
      loadConfig({ OMS_DEV: '1', TRUST_PROXY: '10.0.0.0/8, fd00::/8,192.0.2.7,loopback' }).trustProxy,
    ).toEqual({
      kind: 'subnets',
      subnets: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7', '127.0.0.0/8', '::1/128'],
    });
  });

  it.each(['yes', '10.0.0.0/33', '10.0.0.0/8/1', 'gateway.internal', '10.0.0.0/8,,'])(
    'refuses %j naming the variable',
    (value) => {
      expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY: /);
    },
  );
});

describe('the client address', () => {
  it('ignores X-Forwarded-For from an untrusted peer: a forged header changes nothing', () => {
    expect(clientOf('false', '203.0.113.9', '10.9.9.9')).toBe('203.0.113.9');
    expect(clientOf('10.0.0.0/8', '203.0.113.9', '10.9.9.9')).toBe('203.0.113.9');
  });

  it('walks a chain of trusted proxies from the right to the first untrusted address', () => {
    // the client forged "1.1.1.1"; its real address was appended by the first proxy
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '1.1.1.1, 198.51.100.4, 10.0.0.1')).toBe('198.51.100.4');
    expect(clientOf('10.0.0.0/8,fd00::/8', 'fd00::2', '1.1.1.1, 2001:db8::7, 10.0.0.1')).toBe('2001:db8::7');
    // by count: the peer and one more are proxies
    expect(clientOf('2', '10.0.0.2', '1.1.1.1, 198.51.100.4, 10.0.0.1')).toBe('198.51.100.4');
    expect(clientOf('1', '10.0.0.2', '1.1.1.1, 198.51.100.4')).toBe('198.51.100.4');
  });

  it('takes the furthest hop when every one is trusted, and the peer when there is no header', () => {
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '10.0.0.5, 10.0.0.1')).toBe('10.0.0.5');
    expect(clientOf('loopback', '127.0.0.1')).toBe('127.0.0.1');
    expect(clientOf('3', '10.0.0.2', '198.51.100.4')).toBe('198.51.100.4');
  });

  it('stops at the proxy that wrote a malformed entry, without throwing', () => {
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '198.51.100.4, unknown')).toBe('10.0.0.2');
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '198.51.100.4, 10.0.0.1, <script>')).toBe('10.0.0.2');
    expect(clientOf('1', '10.0.0.2', ' , ')).toBe('10.0.0.2');
    expect(clientOf('1', '10.0.0.2', `${'9'.repeat(5000)},::1::1`)).toBe('10.0.0.2');
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '198.51.100.4, 10.0.0.1:4711')).toBe('198.51.100.4');
    expect(clientOf('10.0.0.0/8', '10.0.0.2', '[2001:db8::9]:443')).toBe('2001:db8::9');
  });

  it('matches a trusted IPv4 proxy that the socket reports in IPv4-mapped form', () => {
    expect(clientOf('10.0.0.0/8', '::ffff:10.0.0.2', '198.51.100.4')).toBe('198.51.100.4');
  });

  it('reads the scheme from X-Forwarded-Proto only when the peer is trusted', () => {
    const trusted: TrustProxy = parseTrustProxy('loopback');
    const resolver = createClientAddressResolver({ trustProxy: trusted, addressIpv6Prefix: 64 });
    expect(resolver.schemeOf(request('127.0.0.1', { 'x-forwarded-proto': 'https' }))).toBe('https:');
    expect(resolver.schemeOf(request('203.0.113.9', { 'x-forwarded-proto': 'https' }))).toBe('http:');
    expect(resolver.schemeOf(request('127.0.0.1', { 'x-forwarded-proto': 'gopher' }))).toBe('http:');
  });
});

describe('addressKey', () => {
  it('groups IPv6 addresses by their /64, so one host cannot count as 2^64 clients', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1', 64)).toBe('2001:db8:1:3::/64');
    expect(addressKey('2001:db8:1:2:aaaa::1', 48)).toBe('2001:db8:1::/48');
    expect(addressKey('2001:db8:1:2:aaaa::1', 56)).toBe('2001:db8:1::/56');
    expect(addressKey('2001:db8:1:2ff:aaaa::1', 60)).toBe('2001:db8:1:2f0::/60');
    expect(addressKey('2001:db8::1', 128)).toBe('2001:db8::1');
  });

  it('counts an IPv4-mapped address as its IPv4 address, in either spelling', () => {
    expect(addressKey('::ffff:127.0.0.1', 64)).toBe('127.0.0.1');
    expect(addressKey('::ffff:7f00:1', 64)).toBe('127.0.0.1');
    expect(addressKey('127.0.0.1', 64)).toBe('127.0.0.1');
  });

  it('leaves what is not an address as it is', () => {
    expect(addressKey('unknown', 64)).toBe('unknown');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
  });
});

describe('per-address limits count by the grouped address', () => {
  /** Two failed logins from `first`, then one from `second`: refused with 101 when both share a bucket. */
  async function thirdFailureFrom(gw: TestGateway, first: string, second: string): Promise<unknown> {
    const tag = `${first}-${second}`;
    for (const name of [`a-${tag}`, `b-${tag}`]) {
      const client = await openClient(gw.wsUrl, { headers: { 'x-forwarded-for': first } });
      await client.call('AuthenticateUser', { UserName: name, Password: 'wrong' });
      await client.close();
    }
    const client = await openClient(gw.wsUrl, { headers: { 'x-forwarded-for': second } });
    const reply = await client.call('AuthenticateUser', { UserName: `c-${tag}`, Password: 'wrong' });
    await client.close();
    return reply;
  }

  it('makes two addresses of one /64 share a failed-login bucket, and another /64 not', async () => {
    const gw = closedAfterEach(
      await startGateway({ TRUST_PROXY: 'loopback', LOGIN_ADDRESS_LIMIT_ATTEMPTS: '2' }),
    );
    expect(await thirdFailureFrom(gw, '2001:db8:1:2::1', '2001:db8:1:2:ffff::9')).toMatchObject({
      errorcode: 101,
    });
    expect(await thirdFailureFrom(gw, '2001:db8:7:7::1', '2001:db8:7:8::1')).toMatchObject({
      Authenticated: false,
      errormsg: 'Invalid username or password',
    });
  });

  it('makes ::ffff:1.2.3.4 and 1.2.3.4 share a failed-login bucket', async () => {
    const gw = closedAfterEach(
      await startGateway({ TRUST_PROXY: 'loopback', LOGIN_ADDRESS_LIMIT_ATTEMPTS: '2' }),
    );
    expect(await thirdFailureFrom(gw, '::ffff:198.51.100.7', '198.51.100.7')).toMatchObject({
      errorcode: 101,
    });
  });

  it('warns at start-up when bound publicly with no TRUST_PROXY, and not on loopback', async () => {
    // a public bind is production only: the settings it requires, on the test's own Redis
    const gw = closedAfterEach(
      await startGateway({
        OMS_DEV: '',
        HOST: '0.0.0.0',
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: uniquePrefix(),
        SENDGRID_API_KEY: 'SG.never-used',
        MAIL_FROM: 'security@oms.example',
        RESET_PAGE_URL: 'https://oms.example/reset',
      }),
    );
    expect(gw.logs.entries().some((entry) => String(entry.msg).startsWith('TRUST_PROXY is unset'))).toBe(
      true,
    );
    await gw.close();
    const loopback = closedAfterEach(await startGateway({}));
    expect(
      loopback.logs.entries().some((entry) => String(entry.msg).startsWith('TRUST_PROXY is unset')),
    ).toBe(false);
  });
});
