// Start-up users: the demo set on the embedded store, nothing on Redis unless SEED_FILE names a file of users.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_USERS, loadStartupUsers, SeedFileError } from '../../gateway/stores/seed-users';
import { ManualClock } from '../../core/ports/clock';
import { createPasswordHasher } from '../../gateway/password-hasher';
import { createMemoryStore } from '../../gateway/stores/memory/memory-store';
import { singleNode } from '../../gateway/stores/redis/connection';
import { createRedisStore } from '../../gateway/stores/redis/redis-store';
import { startGateway, testRedisUrl, uniquePrefix } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { captureLogs } from '../support/logs';
import { openClient } from '../support/ws-client';

const hasher = createPasswordHasher({ memoryKib: 64, iterations: 1, parallelism: 1, concurrency: 4 });

describe('start-up users', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-seed-'));
    closedAfterEach({ close: () => rm(dir, { recursive: true, force: true }) });
  });

  it('loads the documented demo users on the embedded store and prints how to log in', async () => {
    const gw = closedAfterEach(await startGateway({ ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' }));
    const { services } = gw.gateway;
    await loadStartupUsers(services.store, services.hasher, gw.config, gw.logs.logger);
    const users = await services.store.users.list();
    expect(users.map((user) => [user.userName, user.permissions, user.accountIds])).toEqual([
      ['operator', ['Operator'], []],
      ['trader1', ['Trading'], [1]],
      ['trader2', ['Trading'], [1]],
      ['trader3', ['Trading'], [2]],
      ['viewer1', ['AccountReadOnly'], [1]],
    ]);
    const line = await gw.logs.waitFor((entry) => String(entry.msg).startsWith('demo users loaded'));
    expect(line.msg).toContain('operator / demo-operator (Operator)');
    expect(line.msg).toContain('trader1 / demo-trader1 (Trading, account 1)');
    for (const demo of DEMO_USERS) {
      const client = await openClient(gw.wsUrl);
      expect(
        await client.call('AuthenticateUser', { UserName: demo.UserName, Password: demo.Password }),
      ).toMatchObject({
        Authenticated: true,
      });
      await client.close();
    }
  });

  it('loads nothing on Redis without SEED_FILE', async () => {
    const store = closedAfterEach(
      createRedisStore(
        { topology: singleNode(testRedisUrl()), prefix: uniquePrefix(), commandTimeoutMs: 2000 },
        captureLogs().logger,
      ),
    );
    await loadStartupUsers(store, hasher, { seedFile: null, dev: true }, captureLogs().logger);
    expect(await store.users.list()).toEqual([]);
  });

  it('loads no demo users outside development mode, even on the embedded store', async () => {
    const store = closedAfterEach(createMemoryStore(new ManualClock()));
    const logs = captureLogs();
    await loadStartupUsers(store, hasher, { seedFile: null, dev: false }, logs.logger);
    expect(await store.users.list()).toEqual([]);
    expect(JSON.stringify(logs.entries())).not.toContain('demo-operator');
  });

  it('loads a SEED_FILE into Redis once, keeping users already there', async () => {
    const file = join(dir, 'users.json');
    await writeFile(
      file,
      JSON.stringify([
        { UserName: 'ops', Email: 'ops@example.com', Password: 'ops-pw', Permissions: ['Operator'] },
        {
          UserName: 'acct',
          Email: 'acct@example.com',
          AccountIds: [3, 4],
          AccountId: 4,
          EmailVerified: false,
          Language: 'de',
        },
      ]),
    );
    const prefix = uniquePrefix();
    const store = closedAfterEach(
      createRedisStore(
        { topology: singleNode(testRedisUrl()), prefix, commandTimeoutMs: 2000 },
        captureLogs().logger,
      ),
    );
    const logs = captureLogs();
    await loadStartupUsers(store, hasher, { seedFile: file, dev: false }, logs.logger);
    await loadStartupUsers(store, hasher, { seedFile: file, dev: false }, logs.logger); // a second gateway starting with the same file
    const users = await store.users.list();
    expect(users.map((user) => user.userName)).toEqual(['ops', 'acct']);
    expect(users[1]).toMatchObject({
      accountIds: [3, 4],
      accountId: 4,
      emailVerified: false,
      passwordHash: null,
      language: 'de',
    });
    expect(users[0]?.language).toBeNull();
    expect(await hasher.verify(users[0]!.passwordHash!, 'ops-pw')).toBe(true);
    expect(
      logs.entries().filter((entry) => entry.msg === 'seed user already present; kept as it is'),
    ).toHaveLength(2);
  });

  it('refuses a seed user whose Language has no catalogue, naming the entry', async () => {
    const file = join(dir, 'language.json');
    await writeFile(file, JSON.stringify([{ UserName: 'x', Email: 'x@example.com', Language: 'ja' }]));
    const store = closedAfterEach(createMemoryStore(new ManualClock()));
    const loading = loadStartupUsers(store, hasher, { seedFile: file, dev: false }, captureLogs().logger);
    await expect(loading).rejects.toThrow(`SEED_FILE ${file} is not a list of users: 0.Language:`);
    expect(await store.users.list()).toEqual([]);
  });

  it('refuses a seed file that is not a list of users, naming the file and the entry', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify([{ UserName: 'x', Email: 'not-an-email', Password: 'secret-in-file' }]),
    );
    const store = closedAfterEach(createMemoryStore(new ManualClock()));
    const loading = loadStartupUsers(store, hasher, { seedFile: file, dev: false }, captureLogs().logger);
    await expect(loading).rejects.toBeInstanceOf(SeedFileError);
    await expect(loading).rejects.toThrow(`SEED_FILE ${file} is not a list of users: 0.Email:`);
    await expect(loading).rejects.not.toThrow(/secret-in-file/);
    await expect(
      loadStartupUsers(
        store,
        hasher,
        { seedFile: join(dir, 'missing.json'), dev: false },
        captureLogs().logger,
      ),
    ).rejects.toThrow('cannot be read');
  });
});
