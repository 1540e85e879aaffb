// Attacks on the login over real sockets (issue 11): a parallel guessing burst, a hash-queue flood, and old-password
// logins in flight while ResetPassword2 commits.
import { createPasswordHasher } from '../../gateway/password-hasher';
import type { PasswordHasher } from '../../gateway/password-hasher';
import { deferred } from '../support/deferred';
import { pollUntil } from '../support/poll-until';
import { loginWorks, nextOutboxLink, passwordOf, startResetGateway, submitLink } from '../support/reset';
import type { TestGateway } from '../support/gateway';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const REFUSED = { Authenticated: false, SessionToken: null, errormsg: 'Invalid username or password' };
const OK = standardSuccess();

/** The real hasher, with its verifications counted (those that ran, not those the queue refused). */
function countingHasher(real: PasswordHasher): PasswordHasher & { readonly verified: number } {
  let verified = 0;
  const counted = <T>(check: Promise<T>): Promise<T> => check.then((value) => (verified++, value));
  return {
    hash: (password, caller) => real.hash(password, caller),
    verify: (hash, password, caller) => counted(real.verify(hash, password, caller)),
    verifyNothing: (password, caller) => counted(real.verifyNothing(password, caller)),
    get running() {
      return real.running;
    },
    get queued() {
      return real.queued;
    },
    get verified() {
      return verified;
    },
  };
}

const cheapHasher = (options: { queueMaxPerAddress?: number } = {}): PasswordHasher =>
  createPasswordHasher({ memoryKib: 1024, iterations: 1, parallelism: 1, concurrency: 2, ...options });

/**
 * `count` calls of AuthenticateUser sent at once, spread over `sockets` sockets from one address, each socket's
 * frames written together (replies come back in any order, matched by their sequence number).
 */
async function burst(gw: TestGateway, sockets: number, count: number, login: object): Promise<unknown[]> {
  const clients = await Promise.all(Array.from({ length: sockets }, () => openClient(gw.wsUrl)));
  try {
    const perSocket = clients.map((client, socket) => {
      const sequences = Array.from({ length: count }, (_, index) => index)
        .filter((index) => index % sockets === socket)
        .map((index) => 2 * index + 2);
      for (const i of sequences) client.send({ m: 0, i, n: 'AuthenticateUser', o: JSON.stringify(login) });
      return Promise.all(sequences.map(() => client.next()));
    });
    const frames = (await Promise.all(perSocket)).flat();
    expect(frames).toHaveLength(count);
    return frames.map((frame) => JSON.parse(frame.o) as unknown);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

describe.each([
  ['memory', false],
  ['redis', true],
])('login attacks on the %s store', (_kind, redis) => {
  let gw: TestGateway;
  afterEach(() => gw.close());

  it('checks at most LOGIN_LIMIT_ATTEMPTS of 200 wrong passwords sent in parallel, then refuses the right one', async () => {
    // the queue bound is set out of the way: this is about the failed-login limit alone
    const hasher = countingHasher(cheapHasher());
    gw = await startResetGateway({ LOGIN_LIMIT_ATTEMPTS: '10' }, { hasher }, { redis });
    const replies = await burst(gw, 20, 200, { UserName: 'alice', Password: 'a wrong guess' });
    expect(hasher.verified).toBeLessThanOrEqual(10);
    const refused = replies.filter((reply) => (reply as { Authenticated?: boolean }).Authenticated === false);
    const limited = replies.filter((reply) => (reply as { errorcode?: number }).errorcode === 101);
    expect(refused.length).toBe(hasher.verified);
    expect(refused.length + limited.length).toBe(200);
    for (const reply of refused) expect(reply).toMatchObject(REFUSED);
    // the window still runs: the owner's password from that address is refused too, and costs no check
    const client = await openClient(gw.wsUrl);
    expect(
      await client.call('AuthenticateUser', { UserName: 'alice', Password: passwordOf('alice') }),
    ).toMatchObject({ errorcode: 101, detail: expect.stringMatching(/^Too many failed login attempts/) });
    await client.close();
    expect(hasher.verified).toBeLessThanOrEqual(10);
  });

  it('refuses password checks past HASH_QUEUE_MAX_PER_ADDRESS at once with 101 and a retry-after', async () => {
    const real = createPasswordHasher({
      memoryKib: 1024,
      iterations: 1,
      parallelism: 1,
      concurrency: 1,
      queueMaxPerAddress: 2,
    });
    gw = await startResetGateway({ LOGIN_LIMIT_ATTEMPTS: '1000' }, { hasher: real }, { redis });
    // two slow checks from 127.0.0.1 fill its place in the queue (a PHC string carries its own parameters)
    const slowHash = await createPasswordHasher({
      memoryKib: 32 * 1024,
      iterations: 8,
      parallelism: 1,
      concurrency: 1,
    }).hash('slow');
    let occupied = true;
    const occupiers = Promise.all([
      real.verify(slowHash, 'x', { address: '127.0.0.1' }),
      real.verify(slowHash, 'x', { address: '127.0.0.1' }),
    ]).finally(() => (occupied = false));
    const replies = await burst(gw, 1, 3, { UserName: 'alice', Password: passwordOf('alice') });
    // answered while the slow checks still hold the queue: refused at once, not after waiting behind them
    expect(occupied).toBe(true);
    for (const reply of replies) {
      expect(reply).toEqual({
        result: false,
        errormsg: 'Operation Failed',
        errorcode: 101,
        detail: expect.stringMatching(/^Too many password checks in progress; retry after [1-9]\d* seconds$/),
      });
    }
    // another address still gets its check, in line behind the slow ones; and the refusals cost alice no attempt
    const other = await openClient(gw.wsUrl, { localAddress: '127.0.0.2' });
    expect(
      await other.call('AuthenticateUser', { UserName: 'alice', Password: passwordOf('alice') }),
    ).toMatchObject({ Authenticated: true });
    await other.close();
    await occupiers;
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(true);
  });

  it('gives no live session to old-password logins in flight while ResetPassword2 commits', async () => {
    const real = createPasswordHasher({ memoryKib: 1024, iterations: 1, parallelism: 1, concurrency: 2 });
    // the logins' checks are held until the reset has committed: each read alice's old hash before it
    const release = deferred();
    let waiting = 0;
    const held: PasswordHasher = {
      hash: (password, caller) => real.hash(password, caller),
      verify: async (hash, password, caller) => {
        waiting++;
        await release.promise;
        return real.verify(hash, password, caller);
      },
      verifyNothing: (password, caller) => real.verifyNothing(password, caller),
      get running() {
        return real.running;
      },
      get queued() {
        return real.queued;
      },
    };
    gw = await startResetGateway(
      { RESET_ALLOW_PUBLIC: 'true', LOGIN_NAME_THROTTLE_ATTEMPTS: '1000' },
      { hasher: held },
      { redis },
    );
    const op = await openClient(gw.wsUrl);
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const logins: TestClient[] = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        openClient(gw.wsUrl, { localAddress: `127.0.9.${index + 1}` }),
      ),
    );
    const replies = Promise.all(
      logins.map((client) =>
        client.call('AuthenticateUser', { UserName: 'alice', Password: passwordOf('alice') }),
      ),
    );
    await pollUntil(() => waiting === 30, 5000, 5, 'all 30 logins waiting for their check');
    expect(await submitLink(op, link, 'a new passphrase 42')).toEqual(OK);
    release.resolve();
    // each old password was right when read; the session would outlive the change's revocation
    for (const reply of await replies) expect(reply).toMatchObject(REFUSED);
    expect(await loginWorks(gw, 'alice', 'a new passphrase 42')).toBe(true);
    await Promise.all([op.close(), ...logins.map((client) => client.close())]);
  });
});
