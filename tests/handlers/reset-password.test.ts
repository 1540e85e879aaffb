// ResetPassword called directly (the handler harness, embedded stores): who may ask for whom, public mode,
// limits, audit. The Redis scripts' side of these rules is the reset-flow contract's (tests/gateway/reset-store).
import type { Env } from '../../gateway/config';
import { createHandlerHarness, useHandlerHarness } from '../support/handler-harness';
import type { HandlerHarness } from '../support/handler-harness';
import { closedAfterEach } from '../support/lifecycle';
import { auditTrail, deliveredLink, RESET_USERS } from '../support/reset';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NOT_AUTHORIZED = {
  result: false,
  errormsg: 'Not Authorized',
  errorcode: 20,
  detail: 'Permission denied',
};

/** A harness of its own for a test that needs other settings, closed after it. */
async function harnessWith(env: Env): Promise<HandlerHarness> {
  return closedAfterEach(await createHandlerHarness({ env, users: RESET_USERS }));
}

describe('ResetPassword', () => {
  const h = useHandlerHarness({ users: RESET_USERS });

  it('lets an Operator reset any user: answers success and mails a link with the UserId and a v4 PendingCode', async () => {
    const op = await h().loginAs('op');
    expect(await op.call('ResetPassword', { UserName: 'carol' })).toEqual(OK);
    const mail = await deliveredLink(h(), 'carol@test.invalid');
    const carol = await h().services.store.users.findByName('carol');
    expect(mail.userId).toBe(String(carol!.userId));
    expect(mail.pendingCode).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(mail.link.startsWith(`${h().config.reset.pageUrl}#UserId=`)).toBe(true);
  });

  it('matches the user name case-insensitively', async () => {
    const op = await h().loginAs('op');
    expect(await op.call('ResetPassword', { username: 'CAROL' })).toEqual(OK);
    await deliveredLink(h(), 'carol@test.invalid');
  });

  it('answers 104 when an Operator asks for a user that does not exist', async () => {
    const op = await h().loginAs('op');
    expect(await op.call('ResetPassword', { UserName: 'nobody' })).toEqual({
      result: false,
      errormsg: 'Resource Not Found',
      errorcode: 104,
      detail: 'User not found',
    });
  });

  it('lets a Trading user reset a user sharing its account', async () => {
    const alice = await h().loginAs('alice');
    expect(await alice.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
    await deliveredLink(h(), 'bob@test.invalid');
  });

  it('answers errorcode 20 alike when a Trading user asks for a user of another account or an unknown name', async () => {
    const alice = await h().loginAs('alice');
    expect(await alice.call('ResetPassword', { UserName: 'carol' })).toEqual(NOT_AUTHORIZED);
    expect(await alice.call('ResetPassword', { UserName: 'nobody' })).toEqual(NOT_AUTHORIZED);
    expect(await h().services.resets.queuedMailCount()).toBe(0);
  });

  it('answers errorcode 20 to a user with neither Operator nor Trading permission', async () => {
    const viewer = await h().loginAs('viewer');
    expect(await viewer.call('ResetPassword', { UserName: 'alice' })).toEqual(NOT_AUTHORIZED);
  });

  it('answers errorcode 20 without a session when public reset is off', async () => {
    const anonymous = h().connect();
    expect(await anonymous.call('ResetPassword', { UserName: 'alice' })).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
  });

  it('refuses a locked user with 101 and mails nothing', async () => {
    const op = await h().loginAs('op');
    expect(await op.call('ResetPassword', { UserName: 'locked' })).toEqual({
      result: false,
      errormsg: 'Operation Failed',
      errorcode: 101,
      detail: 'User is locked',
    });
    expect(await h().services.resets.queuedMailCount()).toBe(0);
  });

  it('answers 100 naming UserName when it is missing or empty', async () => {
    const op = await h().loginAs('op');
    for (const payload of [{}, { UserName: '' }, { UserName: 5 }]) {
      const reply = (await op.call('ResetPassword', payload)) as { errorcode: number; detail: string };
      expect(reply.errorcode).toBe(100);
      expect(reply.detail).toMatch(/^UserName: /);
    }
  });

  describe('with RESET_ALLOW_PUBLIC=true', () => {
    const pub = useHandlerHarness({ env: { RESET_ALLOW_PUBLIC: 'true' }, users: RESET_USERS });

    it('answers anyone with the same success for a known and an unknown name, mailing only the known one', async () => {
      const anonymous = pub().connect();
      const known = await anonymous.call('ResetPassword', { UserName: 'alice' });
      const unknown = await anonymous.call('ResetPassword', { UserName: 'no-such-user' });
      expect(known).toEqual(OK);
      expect(unknown).toEqual(known);
      expect((await pub().deliverMails()).map((mail) => [mail.kind, mail.to])).toEqual([
        ['reset', 'alice@test.invalid'],
      ]);
      const audit = await auditTrail(pub(), 10);
      expect(audit.map((event) => event.reason)).toEqual(
        expect.arrayContaining(['mail queued', 'unknown user name']),
      );
    });

    it('limits an unknown name exactly like a known one', async () => {
      const anonymous = pub().connect();
      for (const name of ['alice', 'no-such-user']) {
        expect(await anonymous.call('ResetPassword', { UserName: name })).toEqual(OK);
        const second = (await anonymous.call('ResetPassword', { UserName: name })) as {
          errorcode: number;
          detail: string;
        };
        expect(second.errorcode).toBe(101);
        expect(second.detail).toMatch(/^Too many reset requests; retry after \d+ seconds$/);
      }
    });

    it('says the same to a locked user as to anyone, and mails nothing', async () => {
      const anonymous = pub().connect();
      expect(await anonymous.call('ResetPassword', { UserName: 'locked' })).toEqual(OK);
      expect(await pub().services.resets.queuedMailCount()).toBe(0);
    });
  });

  describe('limits', () => {
    it('allows one mail per target per interval, with the wait in detail', async () => {
      const op = await h().loginAs('op');
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
      const second = (await op.call('ResetPassword', { UserName: 'bob' })) as Record<string, unknown>;
      expect(second).toMatchObject({ result: false, errormsg: 'Operation Failed', errorcode: 101 });
      expect(second.detail).toMatch(/retry after (60|59|58) seconds/);
      // another target is not affected
      expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    });

    it('allows five mails per target per hour', async () => {
      const { clock } = h();
      const op = await h().loginAs('op');
      for (let n = 0; n < 5; n++) {
        expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
        clock.advance(61_000);
      }
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toMatchObject({ errorcode: 101 });
      // the hour since the first request ends (the session, touched by each call, stays live)
      clock.advance(3600_000 - 5 * 61_000 + 1000);
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
    });

    it('allows RESET_CALLER_LIMIT requests per caller per window', async () => {
      const limited = await harnessWith({ RESET_CALLER_LIMIT: '2' });
      const op = await limited.loginAs('op');
      expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
      expect(await op.call('ResetPassword', { UserName: 'carol' })).toMatchObject({ errorcode: 101 });
      // another caller has its own budget
      const alice = await limited.loginAs('alice');
      expect(await alice.call('ResetPassword', { UserName: 'viewer' })).toEqual(OK);
    });
  });

  it('leaves an audit event for each request, with caller, target and outcome, and never the code', async () => {
    const op = await h().loginAs('op');
    const alice = await h().loginAs('alice');
    await op.call('ResetPassword', { UserName: 'bob' });
    // the trail is newest first: alice's request comes a second later
    h().clock.advance(1000);
    await alice.call('ResetPassword', { UserName: 'carol' });
    const mail = await deliveredLink(h(), 'bob@test.invalid');
    const events = await auditTrail(h(), 10);
    expect(events[1]).toMatchObject({
      step: 'ResetPassword',
      caller: `user:${h().users.op!.userId}`,
      targetUserId: h().users.bob!.userId,
      outcome: 'ok',
      reason: 'mail queued',
    });
    expect(events[0]).toMatchObject({
      step: 'ResetPassword',
      outcome: 'refused',
      reason: 'out of reach',
    });
    expect(JSON.stringify(events)).not.toContain(mail.pendingCode);
  });
});
