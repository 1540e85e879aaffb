// ResetPassword over real sockets on Redis: who may ask for whom, public mode, limits, audit.
import { auditTrail, startResetGateway, clientAs, nextOutboxLink } from '../support/reset';
import type { TestGateway } from '../support/gateway';
import { openClient } from '../support/ws-client';
import { ManualClock } from '../../core/ports/clock';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NOT_AUTHORIZED = {
  result: false,
  errormsg: 'Not Authorized',
  errorcode: 20,
  detail: 'Permission denied',
};

describe('ResetPassword', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('lets an Operator reset any user: answers success and mails a link with the UserId and a v4 PendingCode', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'carol' })).toEqual(OK);
    const mail = await nextOutboxLink(gw, 'carol@test.invalid');
    const carol = await gw.gateway.services.store.users.findByName('carol');
    expect(mail.userId).toBe(String(carol!.userId));
    expect(mail.pendingCode).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(mail.link.startsWith(`${gw.config.reset.pageUrl}#UserId=`)).toBe(true);
    await op.close();
  });

  it('matches the user name case-insensitively', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { username: 'CAROL' })).toEqual(OK);
    await nextOutboxLink(gw, 'carol@test.invalid');
    await op.close();
  });

  it('answers 104 when an Operator asks for a user that does not exist', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'nobody' })).toEqual({
      result: false,
      errormsg: 'Resource Not Found',
      errorcode: 104,
      detail: 'User not found',
    });
    await op.close();
  });

  it('lets a Trading user reset a user sharing its account', async () => {
    gw = await startResetGateway();
    const alice = await clientAs(gw, 'alice');
    expect(await alice.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
    await nextOutboxLink(gw, 'bob@test.invalid');
    await alice.close();
  });

  it('answers errorcode 20 alike when a Trading user asks for a user of another account or an unknown name', async () => {
    gw = await startResetGateway();
    const alice = await clientAs(gw, 'alice');
    expect(await alice.call('ResetPassword', { UserName: 'carol' })).toEqual(NOT_AUTHORIZED);
    expect(await alice.call('ResetPassword', { UserName: 'nobody' })).toEqual(NOT_AUTHORIZED);
    expect(await gw.gateway.services.resets.queuedMailCount()).toBe(0);
    await alice.close();
  });

  it('answers errorcode 20 to a user with neither Operator nor Trading permission', async () => {
    gw = await startResetGateway();
    const viewer = await clientAs(gw, 'viewer');
    expect(await viewer.call('ResetPassword', { UserName: 'alice' })).toEqual(NOT_AUTHORIZED);
    await viewer.close();
  });

  it('answers errorcode 20 without a session when public reset is off', async () => {
    gw = await startResetGateway();
    const anonymous = await openClient(gw.wsUrl);
    expect(await anonymous.call('ResetPassword', { UserName: 'alice' })).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    await anonymous.close();
  });

  it('refuses a locked user with 101 and mails nothing', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'locked' })).toEqual({
      result: false,
      errormsg: 'Operation Failed',
      errorcode: 101,
      detail: 'User is locked',
    });
    expect(await gw.gateway.services.resets.queuedMailCount()).toBe(0);
    await op.close();
  });

  it('answers 100 naming UserName when it is missing or empty', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    for (const payload of [{}, { UserName: '' }, { UserName: 5 }]) {
      const reply = (await op.call('ResetPassword', payload)) as { errorcode: number; detail: string };
      expect(reply.errorcode).toBe(100);
      expect(reply.detail).toMatch(/^UserName: /);
    }
    await op.close();
  });

  describe('with RESET_ALLOW_PUBLIC=true', () => {
    it('answers anyone with the same success for a known and an unknown name, mailing only the known one', async () => {
      gw = await startResetGateway({ RESET_ALLOW_PUBLIC: 'true' });
      const anonymous = await openClient(gw.wsUrl);
      const known = await anonymous.call('ResetPassword', { UserName: 'alice' });
      const unknown = await anonymous.call('ResetPassword', { UserName: 'no-such-user' });
      expect(known).toEqual(OK);
      expect(unknown).toEqual(known);
      await nextOutboxLink(gw, 'alice@test.invalid');
      const audit = await auditTrail(gw, 10);
      expect(audit.map((event) => event.reason)).toEqual(
        expect.arrayContaining(['mail queued', 'unknown user name']),
      );
      await anonymous.close();
    });

    it('limits an unknown name exactly like a known one', async () => {
      gw = await startResetGateway({ RESET_ALLOW_PUBLIC: 'true' });
      const anonymous = await openClient(gw.wsUrl);
      for (const name of ['alice', 'no-such-user']) {
        expect(await anonymous.call('ResetPassword', { UserName: name })).toEqual(OK);
        const second = (await anonymous.call('ResetPassword', { UserName: name })) as {
          errorcode: number;
          detail: string;
        };
        expect(second.errorcode).toBe(101);
        expect(second.detail).toMatch(/^Too many reset requests; retry after \d+ seconds$/);
      }
      await anonymous.close();
    });

    it('says the same to a locked user as to anyone, and mails nothing', async () => {
      gw = await startResetGateway({ RESET_ALLOW_PUBLIC: 'true' });
      const anonymous = await openClient(gw.wsUrl);
      expect(await anonymous.call('ResetPassword', { UserName: 'locked' })).toEqual(OK);
      expect(await gw.gateway.services.resets.queuedMailCount()).toBe(0);
      await anonymous.close();
    });
  });

  describe('limits', () => {
    it('allows one mail per target per interval, with the wait in detail', async () => {
      gw = await startResetGateway();
      const op = await clientAs(gw, 'op');
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
      const second = (await op.call('ResetPassword', { UserName: 'bob' })) as Record<string, unknown>;
      expect(second).toMatchObject({ result: false, errormsg: 'Operation Failed', errorcode: 101 });
      expect(second.detail).toMatch(/retry after (60|59|58) seconds/);
      // another target is not affected
      expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
      await op.close();
    });

    it('allows five mails per target per hour', async () => {
      const clock = new ManualClock();
      gw = await startResetGateway({}, { clock }, { redis: false });
      const op = await clientAs(gw, 'op');
      for (let n = 0; n < 5; n++) {
        expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
        clock.advance(61_000);
      }
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toMatchObject({ errorcode: 101 });
      // the hour since the first request ends (the session, touched by each call, stays live)
      clock.advance(3600_000 - 5 * 61_000 + 1000);
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
      await op.close();
    });

    it('allows RESET_CALLER_LIMIT requests per caller per window', async () => {
      gw = await startResetGateway({ RESET_CALLER_LIMIT: '2' });
      const op = await clientAs(gw, 'op');
      expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
      expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
      expect(await op.call('ResetPassword', { UserName: 'carol' })).toMatchObject({ errorcode: 101 });
      // another caller has its own budget
      const alice = await clientAs(gw, 'alice');
      expect(await alice.call('ResetPassword', { UserName: 'viewer' })).toEqual(OK);
      await op.close();
      await alice.close();
    });
  });

  it('leaves an audit event for each request, with caller, target and outcome, and never the code', async () => {
    gw = await startResetGateway();
    const op = await clientAs(gw, 'op');
    const alice = await clientAs(gw, 'alice');
    await op.call('ResetPassword', { UserName: 'bob' });
    await alice.call('ResetPassword', { UserName: 'carol' });
    const mail = await nextOutboxLink(gw, 'bob@test.invalid');
    const opUser = await gw.gateway.services.store.users.findByName('op');
    const bobUser = await gw.gateway.services.store.users.findByName('bob');
    const events = await auditTrail(gw, 10);
    expect(events[1]).toMatchObject({
      step: 'ResetPassword',
      caller: `user:${opUser!.userId}`,
      targetUserId: bobUser!.userId,
      outcome: 'ok',
      reason: 'mail queued',
    });
    expect(events[0]).toMatchObject({
      step: 'ResetPassword',
      outcome: 'refused',
      reason: 'out of reach',
    });
    expect(JSON.stringify(events)).not.toContain(mail.pendingCode);
    await op.close();
    await alice.close();
  });
});
