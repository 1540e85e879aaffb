// ResetPassword2: the code as the credential, consumed once, password rules, limits and audit, called directly
// (the handler harness, embedded stores); then what needs whole gateways on Redis: one code raced over real
// sockets, sessions ended on another gateway, and Redis going away.
import { INVALID_LINK } from '../../core/password-change';
import type { Env } from '../../gateway/config';
import { createHandlerHarness, useHandlerHarness } from '../support/handler-harness';
import type { HandlerHarness, HarnessConnection } from '../support/handler-harness';
import type { TestGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import {
  auditTrail,
  clientAs,
  deliveredLink,
  nextOutboxLink,
  passwordOf,
  raceOneCode,
  RESET_USERS,
  startResetGateway,
  submitLink,
} from '../support/reset';
import type { ResetLink } from '../support/reset';
import { openClient } from '../support/ws-client';
import { startRedisServer } from '../../testing/redis-server';
import type { TestClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const INVALID = { result: false, errormsg: 'Resource Not Found', errorcode: 104, detail: INVALID_LINK };
const NEW_PASSWORD = 'a fresh and long passphrase';

describe('ResetPassword2', () => {
  const h = useHandlerHarness({ users: RESET_USERS });

  /** A harness of its own for a test that needs other settings, closed after it. */
  async function harnessWith(env: Env): Promise<HandlerHarness> {
    return closedAfterEach(await createHandlerHarness({ env, users: RESET_USERS }));
  }

  /** An Operator asks a reset for `userName`; resolves with the mailed link. */
  async function requestLink(harness: HandlerHarness, userName: string): Promise<ResetLink> {
    const op = await harness.loginAs('op');
    expect(await op.call('ResetPassword', { UserName: userName })).toEqual(OK);
    return deliveredLink(harness, `${userName}@test.invalid`);
  }

  function submit(
    connection: HarnessConnection,
    link: ResetLink,
    password = NEW_PASSWORD,
    code = link.pendingCode,
  ) {
    return submitLink(connection, link, password, code);
  }

  /** Whether AuthenticateUser accepts `password` for `userName`, asked on a connection of its own. */
  async function loginWorks(harness: HandlerHarness, userName: string, password: string): Promise<boolean> {
    const reply = (await harness
      .connect()
      .call('AuthenticateUser', { UserName: userName, Password: password })) as {
      Authenticated: boolean;
    };
    return reply.Authenticated;
  }

  it('sets the new password from the mailed link (UserId as a string); the old one stops working', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    expect(await submit(page, link)).toEqual(OK);
    expect(await loginWorks(h(), 'bob', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(h(), 'bob', passwordOf('bob'))).toBe(false);
  });

  it('accepts UserId as a number, and logs no one in', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    const reply = await page.call('ResetPassword2', {
      UserId: Number(link.userId),
      Password: NEW_PASSWORD,
      PendingCode: link.pendingCode,
    });
    expect(reply).toEqual(OK);
    expect(await page.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
  });

  it('normalises the password (NFKC): full-width input logs in as its ASCII twin', async () => {
    const link = await requestLink(h(), 'bob');
    expect(await submit(h().connect(), link, 'ｆｕｌｌｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ')).toEqual(OK);
    expect(await loginWorks(h(), 'bob', 'fullwidth passphrase')).toBe(true);
  });

  it('answers one 104 for a wrong code, an unknown user and a used code alike', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    expect(await submit(page, link, NEW_PASSWORD, '00000000-0000-4000-8000-000000000000')).toEqual(INVALID);
    expect(await submit(page, { ...link, userId: '999999' })).toEqual(INVALID);
    expect(await submit(page, link)).toEqual(OK);
    expect(await submit(page, link, 'another long passphrase')).toEqual(INVALID);
  });

  it('keeps the code when the password is refused, so the same link works with a better one', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    for (const [password, detail] of [
      ['short', 'Password must be at least 8 characters long'],
      ['password123', 'Password is too common; choose a less predictable one'],
      ['my name is bob!', 'Password must not be or contain your user name or e-mail address'],
    ]) {
      expect(await submit(page, link, password)).toEqual({
        result: false,
        errormsg: 'Invalid Response',
        errorcode: 100,
        detail,
      });
    }
    expect(await submit(page, link)).toEqual(OK);
  });

  it('refuses the code to an address after its five wrong tries', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    for (let n = 0; n < 5; n++) {
      expect(await submit(page, link, NEW_PASSWORD, `wrong-${n}`)).toEqual(INVALID);
    }
    expect(await submit(page, link)).toEqual(INVALID);
  });

  it("survives a stranger's 50 wrong codes for the user: the stranger is refused, the owner's link works", async () => {
    const link = await requestLink(h(), 'bob');
    // the attacker: another address, sequential UserIds, guessed codes
    const attacker = h().connect('127.0.0.3');
    const answers: unknown[] = [];
    for (let n = 0; n < 50; n++) {
      answers.push(
        await submit(attacker, link, NEW_PASSWORD, `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`),
      );
    }
    // RESET_COMPLETE_ADDRESS_LIMIT (20) calls are answered; the 30 after get 101 with the wait
    expect(answers.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => INVALID));
    for (const answer of answers.slice(20)) {
      expect(answer).toMatchObject({ result: false, errorcode: 101 });
      expect((answer as { detail: string }).detail).toMatch(
        /^Too many password reset attempts from this address; retry after \d+ seconds$/,
      );
    }
    // even the right code is refused to the attacker's address now
    expect(await submit(attacker, link)).toMatchObject({ errorcode: 101 });
    // the owner, from another address, uses the mailed link
    expect(await submit(h().connect(), link)).toEqual(OK);
    expect(await loginWorks(h(), 'bob', NEW_PASSWORD)).toBe(true);
  });

  it("keeps the link live after an address's five wrong codes, which spend only that address's tries", async () => {
    const link = await requestLink(h(), 'bob');
    const attacker = h().connect('127.0.0.4');
    for (let n = 0; n < 5; n++)
      expect(await submit(attacker, link, NEW_PASSWORD, `wrong-${n}`)).toEqual(INVALID);
    // that address has no tries left on this code, so not even the right code works from it
    expect(await submit(attacker, link)).toEqual(INVALID);
    expect(await submit(h().connect(), link)).toEqual(OK);
  });

  it('keeps the record of a password change through a flood of refusals, and logs the refusals bounded', async () => {
    const flooded = await harnessWith({ AUDIT_STREAM_MAXLEN: '10', RESET_COMPLETE_ADDRESS_LIMIT: '1000' });
    const link = await requestLink(flooded, 'bob');
    expect(await submit(flooded.connect(), link)).toEqual(OK);
    const linesBefore = flooded.logs.lines.length;
    const flooder = flooded.connect();
    // AUDIT_STREAM_MAXLEN + 240 refusals
    for (let n = 0; n < 250; n++) {
      expect(
        await submit(flooder, { ...link, userId: String(2 + (n % 3)) }, NEW_PASSWORD, `guess-${n}`),
      ).toEqual(INVALID);
    }
    const kept = await flooded.services.resets.recentAudit(10);
    expect(kept).toContainEqual(
      expect.objectContaining({ step: 'ResetPassword2', targetUserId: Number(link.userId), outcome: 'ok' }),
    );
    const refusals = await flooded.services.resets.recentRefusals(10);
    expect(refusals.reduce((sum, record) => sum + record.count, 0)).toBe(250);
    const refusalLines = flooded.logs.lines
      .slice(linesBefore)
      .filter((line) => line.includes('"reset audit"') && line.includes('"refused"'));
    // one caller in at most two windows (the flood may straddle a window's end)
    expect(refusalLines.length).toBeGreaterThanOrEqual(1);
    expect(refusalLines.length).toBeLessThanOrEqual(2);
  });

  it('refuses hashes past HASH_QUEUE_MAX_PER_ADDRESS at once with 101 when one address floods it', async () => {
    const bounded = await harnessWith({ HASH_QUEUE_MAX_PER_ADDRESS: '2' });
    const link = await requestLink(bounded, 'bob');
    const connection = bounded.connect();
    // 20 calls in flight at once, as pipelined on one socket
    const frames = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        connection.request(
          'ResetPassword2',
          { UserId: link.userId, Password: `${NEW_PASSWORD} ${n}`, PendingCode: link.pendingCode },
          2000 + n,
        ),
      ),
    );
    const results = frames.map(
      (frame) => JSON.parse(frame.o) as { errorcode: number; detail: string | null },
    );
    const full = results.filter((result) => result.errorcode === 101);
    expect(full.length).toBeGreaterThan(0);
    for (const result of full) {
      expect(result.detail).toMatch(/^Too many password checks in progress; retry after [1-9]\d* seconds$/);
    }
    expect(results.filter((result) => result.errorcode === 0).length).toBeLessThanOrEqual(1);
  });

  it('queues a "your password was changed" mail', async () => {
    const link = await requestLink(h(), 'bob');
    expect(await submit(h().connect(), link)).toEqual(OK);
    expect(await h().deliverMails()).toEqual([
      expect.objectContaining({ kind: 'password-changed', to: 'bob@test.invalid', link: null }),
    ]);
  });

  it('audits success and refusal without the code or the password', async () => {
    const link = await requestLink(h(), 'bob');
    const page = h().connect();
    await submit(page, link, NEW_PASSWORD, 'wrong');
    // the trail is newest first: the right code comes a second later
    h().clock.advance(1000);
    await submit(page, link);
    const events = (await auditTrail(h(), 10)).filter((e) => e.step === 'ResetPassword2');
    expect(events.map((event) => [event.outcome, event.targetUserId])).toEqual([
      ['ok', Number(link.userId)],
      ['refused', Number(link.userId)],
    ]);
    expect(events[1]!.reason).toBe(INVALID_LINK);
    const text = JSON.stringify(events);
    expect(text).not.toContain(link.pendingCode);
    expect(text).not.toContain(NEW_PASSWORD);
  });

  describe('with time moved by hand', () => {
    it('refuses a link once its TTL has passed', async () => {
      const short = await harnessWith({ RESET_CODE_TTL_SECONDS: '600' });
      const link = await requestLink(short, 'bob');
      short.clock.advance(600_001);
      expect(await submit(short.connect(), link)).toEqual(INVALID);
    });

    it('invalidates the first code when a second reset is asked', async () => {
      const first = await requestLink(h(), 'bob');
      h().clock.advance(61_000);
      const second = await requestLink(h(), 'bob');
      const page = h().connect();
      expect(await submit(page, first)).toEqual(INVALID);
      expect(await submit(page, second)).toEqual(OK);
    });
  });
});

describe('ResetPassword2 on gateways over Redis', () => {
  async function gateway(...args: Parameters<typeof startResetGateway>): Promise<TestGateway> {
    return closedAfterEach(await startResetGateway(...args));
  }

  async function client(gw: TestGateway, as?: string): Promise<TestClient> {
    return closedAfterEach(as === undefined ? await openClient(gw.wsUrl) : await clientAs(gw, as));
  }

  /** An Operator asks a reset for `userName`; resolves with the mailed link. */
  async function requestLink(gw: TestGateway, userName: string): Promise<ResetLink> {
    const op = await client(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: userName })).toEqual(OK);
    return nextOutboxLink(gw, `${userName}@test.invalid`);
  }

  function submit(socket: TestClient, link: ResetLink, password = NEW_PASSWORD, code = link.pendingCode) {
    return submitLink(socket, link, password, code);
  }

  it('lets exactly one of 50 concurrent calls with one code succeed', async () => {
    // all 50 come from one address: its per-address limits (calls, hashes in flight) are raised out of the way
    const gw = await gateway({ RESET_COMPLETE_ADDRESS_LIMIT: '100', HASH_QUEUE_MAX_PER_ADDRESS: '64' });
    const link = await requestLink(gw, 'bob');
    const sockets = await Promise.all(Array.from({ length: 5 }, () => client(gw)));
    // 50 calls in flight at once: 10 pipelined on each of 5 sockets
    const results = await raceOneCode(sockets, link, NEW_PASSWORD, 50);
    expect(results).toHaveLength(50);
    expect(results.filter((result) => result.errorcode === 0)).toHaveLength(1);
    expect(results.filter((result) => result.errorcode === 104)).toHaveLength(49);
  });

  it('ends every session of the user, also on a second gateway sharing the Redis', async () => {
    const first = await gateway();
    const second = await gateway({ REDIS_PREFIX: first.config.redis!.prefix });
    const bobOnSecond = await client(second, 'bob');
    expect(await bobOnSecond.call('GetUserInfo', {})).toMatchObject({ UserName: 'bob' });
    const link = await requestLink(first, 'bob');
    expect(await submit(await client(first), link)).toEqual(OK);
    await second.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await bobOnSecond.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
  });

  it('answers 102 "Store unavailable" while Redis is down, and works again once it is back', async () => {
    const redis = await startRedisServer();
    try {
      const gw = await gateway({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' });
      const page = await client(gw);
      const bogus = {
        UserId: '1',
        Password: NEW_PASSWORD,
        PendingCode: '00000000-0000-4000-8000-000000000000',
      };
      await redis.stop();
      expect(await page.call('ResetPassword2', bogus)).toEqual({
        result: false,
        errormsg: 'Server Error',
        errorcode: 102,
        detail: 'Store unavailable; try again shortly',
      });
      const back = await redis.restart();
      try {
        await gw.logs.waitFor((line) => line.msg === 'redis connection restored' && line.redis === 'store');
        expect(await page.call('ResetPassword2', bogus)).toEqual(INVALID);
      } finally {
        await back.stop();
      }
    } finally {
      await redis.stop();
    }
  });
});
