// The script that writes a new session's key (sessions-put-1keys.lua), run as the client may run it: twice,
// when ioredis sends a pipeline again whose connection closed before the reply came, as in a failover.
import { Redis } from 'ioredis';
import { script } from '../../../gateway/stores/redis/scripts';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';
import { closedAfterAll } from '../../support/lifecycle';

describe('sessions-put-1keys.lua', () => {
  const redis = new Redis(testRedisUrl(), { keyPrefix: uniquePrefix(), lazyConnect: true });
  closedAfterAll({ close: () => redis.quit() });
  const put = script(redis, 'sessions-put-1keys.lua');

  it('starts the session again when it is sent again for the same user, keeping its key', async () => {
    expect(await put('session:{a}', '7', '60000', 0)).toBe(1);
    expect(await put('session:{a}', '7', '60000', 0)).toBe(1);
    expect(await redis.get('session:{a}')).toBe('7');
  });

  it('does not start a session whose key a revocation left its tombstone in, nor one another user holds', async () => {
    await redis.set('session:{b}', 'revoked', 'PX', 60_000);
    expect(await put('session:{b}', '7', '60000', 0)).toBe(0);
    expect(await redis.get('session:{b}')).toBe('revoked');
    await redis.set('session:{c}', '8:99999999999999', 'PX', 60_000);
    expect(await put('session:{c}', '7', '60000', 0)).toBe(0);
  });

  it('recognises its own earlier run with an absolute lifetime too', async () => {
    expect(await put('session:{d}', '7', '60000', 3_600_000)).toBe(1);
    expect(await put('session:{d}', '7', '60000', 3_600_000)).toBe(1);
    expect(await redis.get('session:{d}')).toMatch(/^7:\d+$/);
  });
});
