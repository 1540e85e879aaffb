// A Redis that goes away mid-test: calls answer 102 "Store unavailable" within a bound (no hang) and work again after.
import { startRedisServer } from '../../testing/redis-server';
import type { RedisServer } from '../../testing/redis-server';
import { pollUntil } from '../support/poll-until';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';
import { startUserGateway } from '../handlers/users-fixture';
import type { UserGateway } from '../handlers/users-fixture';

const STORE_UNAVAILABLE = {
  result: false,
  errormsg: 'Server Error',
  errorcode: 102,
  detail: 'Store unavailable; try again shortly',
};

/** The reply, or a failure once `ms` pass: the bound the test holds the gateway to (the command timeout is 300 ms). */
function within<T>(ms: number, reply: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  return Promise.race([reply, deadline]).finally(() => clearTimeout(timer));
}

describe('Redis outage', () => {
  let redis: RedisServer;
  let gw: UserGateway;

  beforeEach(async () => {
    redis = await startRedisServer();
    gw = await startUserGateway({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' });
  });
  afterEach(async () => {
    await gw.close();
    await redis.stop();
  });

  async function expectUnavailable(client: TestClient): Promise<void> {
    expect(await within(5000, client.call('GetUserInfo', {}))).toEqual(STORE_UNAVAILABLE);
    expect(
      await within(5000, client.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' })),
    ).toEqual(STORE_UNAVAILABLE);
    expect(await within(5000, client.call('Ping', {}))).toEqual({ msg: 'PONG' });
  }

  it('answers 102 while Redis does not answer, and serves the same session once it does again', async () => {
    const { client } = await gw.login('trader1');
    redis.process.kill('SIGSTOP'); // Redis hangs: the connection stays up but nothing answers
    try {
      await expectUnavailable(client);
    } finally {
      redis.process.kill('SIGCONT');
    }
    await pollUntil(
      async () => ((await client.call('GetUserInfo', {})) as { UserName?: string }).UserName === 'trader1',
      10_000,
      50,
      'GetUserInfo to succeed again',
    );
  });

  it('answers 102 while Redis is down, and recovers by itself when it restarts', async () => {
    const { client } = await gw.login('trader1');
    await redis.stop();
    await gw.logs.waitFor((entry) => entry.msg === 'redis connection lost; commands fail until it returns');
    await expectUnavailable(client);
    redis = await redis.restart();
    // the restarted Redis kept nothing: the gateway answers again (no 102), and a user created now can log in
    await pollUntil(
      async () => ((await client.call('GetUserInfo', {})) as { errorcode?: number }).errorcode === 20,
      10_000,
      50,
      'the gateway to reach Redis again',
    );
    await gw.gateway.services.store.users.create({
      userName: 'after',
      email: 'after@example.com',
      passwordHash: await gw.gateway.services.hasher.hash('pw-after'),
    });
    const fresh = await openClient(gw.wsUrl);
    expect(await fresh.call('AuthenticateUser', { UserName: 'after', Password: 'pw-after' })).toMatchObject({
      Authenticated: true,
    });
    await fresh.close();
  });
});
