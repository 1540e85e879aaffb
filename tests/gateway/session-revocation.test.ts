// Sessions on a shared Redis: only the token's SHA-256 is stored, and ending a user's sessions reaches every gateway.
import { sessionKey } from '../../gateway/stores/redis/keys';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { testRedisUrl, uniquePrefix } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { openClient } from '../support/ws-client';
import { startUserGateway } from '../handlers/users-fixture';
import type { UserGateway } from '../handlers/users-fixture';

describe('sessions on a shared Redis', () => {
  let prefix: string;
  let first: UserGateway;
  let second: UserGateway;
  let redis: Redis;

  beforeEach(async () => {
    prefix = uniquePrefix();
    first = closedAfterEach(await startUserGateway({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix }));
    // the second gateway shares the users the first one seeded (its own seeding finds them present)
    second = closedAfterEach(await startUserGateway({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix }));
    await Promise.all([first, second].map((gw) => gw.gateway.services.store.sessions.whenListening()));
    redis = new Redis(testRedisUrl());
    closedAfterEach({ close: () => redis.disconnect() });
  });

  /** Every key and value under the test's prefix, as one text. */
  async function dumpStore(): Promise<string> {
    const keys = await redis.keys(`${prefix}*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'set'
            ? await redis.smembers(key)
            : type === 'hash'
              ? await redis.hgetall(key)
              : type;
      parts.push(`${key} ${JSON.stringify(value)}`);
    }
    return parts.join('\n');
  }

  it('keeps only the SHA-256 of a SessionToken in Redis, with the idle TTL', async () => {
    const { sessionToken } = await first.login('trader1');
    const sessionId = createHash('sha256').update(sessionToken).digest('hex');
    const dump = await dumpStore();
    expect(dump).not.toContain(sessionToken);
    expect(dump).toContain(`${prefix}${sessionKey(sessionId)}`);
    const ttl = await redis.pttl(`${prefix}${sessionKey(sessionId)}`);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
  });

  it('lets a session started on one gateway be resumed on another', async () => {
    const { sessionToken } = await first.login('trader1');
    const client = await openClient(second.wsUrl);
    expect(await client.call('WebAuthenticateUser', { SessionToken: sessionToken })).toMatchObject({
      Authenticated: true,
      UserId: first.users.trader1!.userId,
    });
    expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    await client.close();
  });

  it("ends all of a user's sessions on every gateway, each de-authenticating its own sockets", async () => {
    const trader1 = first.users.trader1!.userId;
    const onFirst = await first.login('trader1');
    const onSecond = await second.login('trader1');
    const resumed = await openClient(second.wsUrl);
    await resumed.call('WebAuthenticateUser', { SessionToken: onFirst.sessionToken });
    const bystander = await second.login('trader2');

    expect(await first.gateway.services.store.sessions.revokeAllForUser(trader1)).toBe(2);

    /** Waits for `count` distinct connections of `gw` to log their de-authentication. */
    const deauthenticated = async (gw: UserGateway, count: number) => {
      const connections = new Set<unknown>();
      while (connections.size < count) {
        const entry = await gw.logs.waitFor(
          (line) =>
            line.msg === 'session revoked: connection de-authenticated' &&
            line.userId === trader1 &&
            !connections.has(line.conn),
        );
        connections.add(entry.conn);
      }
    };
    await Promise.all([deauthenticated(first, 1), deauthenticated(second, 2)]);

    for (const client of [onFirst.client, onSecond.client, resumed]) {
      expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20, detail: 'Not logged in' });
    }
    expect(await bystander.client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader2' });
    expect(await onFirst.client.call('Ping', {})).toEqual({ msg: 'PONG' });
    await resumed.close();
  });

  it('ends the least recently used session of a user past MAX_SESSIONS_PER_USER, on every gateway', async () => {
    const capped = closedAfterEach(
      await startUserGateway({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, MAX_SESSIONS_PER_USER: '2' }),
    );
    await capped.gateway.services.store.sessions.whenListening();
    const oldest = await capped.login('trader1');
    const resumedElsewhere = await openClient(second.wsUrl);
    await resumedElsewhere.call('WebAuthenticateUser', { SessionToken: oldest.sessionToken });
    const middle = await capped.login('trader1');
    // the oldest was last used (resumed) before the middle one began: the least recently used of the two
    expect(await middle.client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    const newest = await capped.login('trader1');
    await Promise.all(
      [capped, second].map((gw) =>
        gw.logs.waitFor((line) => line.msg === 'session revoked: connection de-authenticated'),
      ),
    );
    for (const client of [oldest.client, resumedElsewhere]) {
      expect(await client.call('GetUserInfo', {})).toMatchObject({
        errorcode: 20,
        detail: 'Not logged in',
      });
    }
    for (const client of [middle.client, newest.client]) {
      expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    }
    await resumedElsewhere.close();
  });

  it('refuses calls from a user locked while logged in', async () => {
    const { client } = await first.login('trader1');
    await second.gateway.services.store.users.setLocked(first.users.trader1!.userId, true);
    expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
  });
});
