// POST /api/User/authreset over real HTTP against a real gateway on Redis: tokens, bodies, entries, limits, outages.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { hashApiToken, newApiToken } from '../../core/api-tokens';
import type { AuditEvent } from '../../core/ports/reset-store';
import type { TestGateway } from '../support/gateway';
import { testRedisUrl } from '../support/gateway';
import { pollUntil } from '../support/poll-until';
import { startRedisServer } from '../../testing/redis-server';
import type { RedisServer } from '../../testing/redis-server';
import { closedAfterEach, openedForEach } from '../support/lifecycle';
import { auditTrail, clientAs, nextOutboxLink, startResetGateway } from '../support/reset';

const SUCCESS = { isSuccess: true, responseText: 'Success' };
const UNAUTHORIZED = { isSuccess: false, responseText: 'Unauthorized' };

let entryPointsFile: string;
beforeAll(() => {
  entryPointsFile = join(mkdtempSync(join(tmpdir(), 'oms-entrypoints-')), 'entrypoints.json');
  writeFileSync(
    entryPointsFile,
    JSON.stringify({
      pilgrim: { resetPageUrl: 'https://pilgrim.example/account/reset', fromName: 'Pilgrim Payments' },
      acme: { resetPageUrl: 'https://acme.example/reset' },
    }),
  );
});

describe('POST /api/User/authreset', () => {
  // a function: the entry points file is written in beforeAll
  const gw = openedForEach(
    () => startResetGateway({ ENTRYPOINTS_FILE: entryPointsFile }),
    'the reset gateway',
  );

  /** A token as `oms-gateway token create` makes it: only its hash reaches the store. */
  async function createToken(name: string, entries: string[] = []): Promise<string> {
    const token = newApiToken();
    await gw().gateway.services.store.apiTokens.create(hashApiToken(token), { name, entries });
    return token;
  }

  function authReset(body: unknown, token?: string): Promise<Response> {
    return fetch(`${gw().httpUrl}/api/User/authreset`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: {
        'Content-Type': 'application/json',
        ...(token === undefined ? {} : { requestToken: token }),
      },
    });
  }

  async function expectReply(response: Response, status: number, body: unknown): Promise<void> {
    expect({ status: response.status, body: await response.json() }).toEqual({ status, body });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  }

  /** The refusals of a step counted in the store's aggregated records. */
  async function refusalsOf(step = 'User/authreset'): Promise<number> {
    const records = await gw().gateway.services.resets.recentRefusals(50);
    return records.filter((record) => record.first.step === step).reduce((sum, r) => sum + r.count, 0);
  }

  async function auditOf(step = 'User/authreset'): Promise<AuditEvent[]> {
    return (await auditTrail(gw(), 50)).filter((event) => event.step === step);
  }

  it('answers 401 without a requestToken and with one that is no token', async () => {
    await expectReply(await authReset({ email: 'alice@test.invalid' }), 401, UNAUTHORIZED);
    await expectReply(await authReset({ email: 'alice@test.invalid' }, newApiToken()), 401, UNAUTHORIZED);
    await expectReply(await authReset({ email: 'alice@test.invalid' }, ''), 401, UNAUTHORIZED);
    expect(await auditOf()).toEqual([]);
  });

  it('starts the reset for the user with that e-mail: the mail links to RESET_PAGE_URL, audited as the token', async () => {
    const token = await createToken('backoffice');
    await expectReply(await authReset({ email: 'Alice@Test.Invalid' }, token), 200, SUCCESS);
    const link = await nextOutboxLink(gw(), 'alice@test.invalid');
    expect(link.link.startsWith(`${gw().config.reset.pageUrl}#UserId=`)).toBe(true);
    expect(await auditOf()).toEqual([
      expect.objectContaining({
        caller: 'token:backoffice',
        targetUserId: (await gw().gateway.services.store.users.findByName('alice'))!.userId,
        outcome: 'ok',
        reason: 'mail queued',
      }),
    ]);
    expect(gw().logs.lines.join('\n')).not.toContain(token);
  });

  it('gives an unknown e-mail and a locked user the same answer as a known one, and mails neither', async () => {
    const token = await createToken('backoffice');
    const known = await authReset({ email: 'bob@test.invalid' }, token);
    const unknown = await authReset({ email: 'nobody@test.invalid' }, token);
    const locked = await authReset({ email: 'locked@test.invalid' }, token);
    const shape = async (response: Response) => ({
      status: response.status,
      type: response.headers.get('content-type'),
      body: await response.text(),
    });
    const knownShape = await shape(known);
    expect(await shape(unknown)).toEqual(knownShape);
    expect(await shape(locked)).toEqual(knownShape);
    expect(knownShape.body).toBe(JSON.stringify(SUCCESS));
    // the two refusals of one caller in one window are one record with their count
    expect((await auditOf()).map((event) => event.reason).sort()).toEqual(['mail queued', 'unknown e-mail']);
    expect(await refusalsOf()).toBe(2);
  });

  it("links to the entry point's reset page when the request names one", async () => {
    const token = await createToken('partner');
    await expectReply(
      await authReset({ email: 'carol@test.invalid', entry: 'pilgrim', entryType: 2 }, token),
      200,
      SUCCESS,
    );
    const link = await nextOutboxLink(gw(), 'carol@test.invalid');
    expect(link.link.startsWith('https://pilgrim.example/account/reset#UserId=')).toBe(true);
  });

  it('answers 400 with what is wrong for a bad body, before doing anything', async () => {
    const token = await createToken('backoffice');
    const cases: [unknown, string][] = [
      ['{"email":', 'Request body is not valid JSON'],
      [['alice@test.invalid'], 'Body must be a JSON object'],
      [{}, 'email: required'],
      [{ email: 'not-an-address' }, 'email: must be a valid e-mail address'],
      [{ email: 42 }, 'email: must be a valid e-mail address'],
      [{ email: 'alice@test.invalid', entry: 'pilgrim' }, 'entryType: required when entry is given'],
      [
        { email: 'alice@test.invalid', entry: 'pilgrim', entryType: 1 },
        'entryType: must be 0 (partner) or 2 (paypoint)',
      ],
      [{ email: 'alice@test.invalid', entry: 'nowhere', entryType: 0 }, 'entry: unknown entry point'],
      [
        { email: 'alice@test.invalid', entry: 'no spaces', entryType: 0 },
        'entry: must be 1 to 100 letters, digits, ".", "_" or "-"',
      ],
    ];
    for (const [body, responseText] of cases) {
      await expectReply(await authReset(body, token), 400, { isSuccess: false, responseText });
    }
    expect(await auditOf()).toEqual([]);
  });

  it('takes the fields in any letter case, as Payabli does', async () => {
    const token = await createToken('backoffice');
    await expectReply(
      await authReset({ Email: 'bob@test.invalid', Entry: 'acme', EntryType: 0 }, token),
      200,
      SUCCESS,
    );
    const link = await nextOutboxLink(gw(), 'bob@test.invalid');
    expect(link.link.startsWith('https://acme.example/reset#')).toBe(true);
  });

  it('answers 413 for a body over MAX_FRAME_BYTES', async () => {
    const token = await createToken('backoffice');
    const response = await authReset({ email: 'alice@test.invalid', pad: 'x'.repeat(70_000) }, token);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      isSuccess: false,
      responseText: 'Request body is larger than 65536 bytes',
    });
  });

  it('keeps a token limited to entries to those entries', async () => {
    const token = await createToken('pilgrim-only', ['pilgrim']);
    const forbidden = { isSuccess: false, responseText: 'Forbidden: this token may not use that entry' };
    await expectReply(
      await authReset({ email: 'alice@test.invalid', entry: 'acme', entryType: 2 }, token),
      403,
      forbidden,
    );
    await expectReply(await authReset({ email: 'alice@test.invalid' }, token), 403, forbidden);
    // an entry that does not exist is refused the same way: a limited token cannot probe for entries
    await expectReply(
      await authReset({ email: 'alice@test.invalid', entry: 'nowhere', entryType: 2 }, token),
      403,
      forbidden,
    );
    await expectReply(
      await authReset({ email: 'alice@test.invalid', entry: 'pilgrim', entryType: 2 }, token),
      200,
      SUCCESS,
    );
  });

  it('limits each target address like ResetPassword does, answering the same for known and unknown ones', async () => {
    const token = await createToken('backoffice');
    for (const email of ['alice@test.invalid', 'nobody@test.invalid']) {
      await expectReply(await authReset({ email }, token), 200, SUCCESS);
      await expectReply(await authReset({ email: email.toUpperCase() }, token), 200, SUCCESS);
    }
    const reasons = (await auditOf()).map((event) => event.reason).sort();
    // the first refusal of the window stands for all three: rate limited, unknown e-mail, rate limited
    expect(reasons).toEqual(['mail queued', 'rate limited']);
    expect(await refusalsOf()).toBe(3);
  });

  it('shares the per-target mail limit with ResetPassword by name: one mail per interval for the user', async () => {
    const token = await createToken('backoffice');
    const op = await clientAs(gw(), 'op');
    try {
      const ok = { result: true, errormsg: null, errorcode: 0, detail: null };
      expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(ok);
      await expectReply(await authReset({ email: 'alice@test.invalid' }, token), 200, SUCCESS);
      expect(await op.call('ResetPassword', { UserName: 'ALICE' })).toMatchObject({ errorcode: 101 });
      await expectReply(await authReset({ email: 'ALICE@test.invalid' }, token), 200, SUCCESS);
    } finally {
      await op.close();
    }
    const alice = (await gw().gateway.services.store.users.findByName('alice'))!.userId;
    const queued = (await gw().gateway.services.resets.recentAudit(50)).filter(
      (event) => event.targetUserId === alice && event.reason === 'mail queued',
    );
    expect(queued).toHaveLength(1);
    expect((await auditOf()).map((event) => event.reason)).toEqual(['rate limited']);
    expect(await refusalsOf()).toBe(2);
  });
});

describe('POST /api/User/authreset limits and failures', () => {
  it('answers 429 with Retry-After once a token used up its requests, and other tokens go on', async () => {
    const gw = closedAfterEach(await startResetGateway({ AUTHRESET_TOKEN_LIMIT: '2' }));
    const store = gw.gateway.services.store;
    const [busy, other] = [newApiToken(), newApiToken()];
    await store.apiTokens.create(hashApiToken(busy), { name: 'busy' });
    await store.apiTokens.create(hashApiToken(other), { name: 'other' });
    const send = (token: string, email: string) =>
      fetch(`${gw.httpUrl}/api/User/authreset`, {
        method: 'POST',
        body: JSON.stringify({ email }),
        headers: { requestToken: token },
      });
    expect((await send(busy, 'a1@test.invalid')).status).toBe(200);
    expect((await send(busy, 'a2@test.invalid')).status).toBe(200);
    const limited = await send(busy, 'a3@test.invalid');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(await limited.json()).toEqual({
      isSuccess: false,
      responseText: `Too many requests; retry after ${retryAfter} seconds`,
    });
    expect((await send(other, 'a3@test.invalid')).status).toBe(200);
  });

  it('answers 500 for an unexpected failure and logs it', async () => {
    const gw = closedAfterEach(await startResetGateway());
    const redis = new Redis(testRedisUrl());
    closedAfterEach({ close: () => redis.disconnect() });
    const token = newApiToken();
    await gw.gateway.services.store.apiTokens.create(hashApiToken(token), { name: 'broken' });
    // a key of the wrong type makes Redis refuse the limit's INCR: a bug, not an outage
    const limitKey = `${gw.config.redis!.prefix}limit:{authreset:token:${hashApiToken(token)}}`;
    await redis.hset(limitKey, 'field', 'value');
    const response = await fetch(`${gw.httpUrl}/api/User/authreset`, {
      method: 'POST',
      body: JSON.stringify({ email: 'alice@test.invalid' }),
      headers: { requestToken: token },
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ isSuccess: false, responseText: 'Internal API Error' });
    await gw.logs.waitFor((entry) => entry.msg === 'authreset failed');
  });

  describe('while Redis is down', () => {
    let redis: RedisServer;
    let gw: TestGateway;

    beforeEach(async () => {
      redis = await startRedisServer();
      // redis is the restarted server by the end of a test
      closedAfterEach({ close: () => redis.stop() });
      gw = closedAfterEach(
        await startResetGateway({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' }),
      );
    });

    it('answers 503 "Database connection error", and 200 again once Redis is back', async () => {
      const token = newApiToken();
      const store = gw.gateway.services.store;
      await store.apiTokens.create(hashApiToken(token), { name: 'backoffice' });
      const send = () =>
        fetch(`${gw.httpUrl}/api/User/authreset`, {
          method: 'POST',
          body: JSON.stringify({ email: 'alice@test.invalid' }),
          headers: { requestToken: token },
        });

      await redis.stop();
      await gw.logs.waitFor((entry) => entry.msg === 'redis connection lost; commands fail until it returns');
      const response = await send();
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ isSuccess: false, responseText: 'Database connection error' });

      // the restarted Redis kept nothing: the token is issued again once the store answers
      redis = await redis.restart();
      await pollUntil(
        async () => {
          try {
            await store.apiTokens.create(hashApiToken(token), { name: 'backoffice' });
            return true;
          } catch {
            return false;
          }
        },
        10_000,
        50,
        'the store to reach Redis again',
      );
      const again = await send();
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual(SUCCESS);
    });
  });
});
