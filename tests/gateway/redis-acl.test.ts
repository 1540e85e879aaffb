// The gateway as a Redis ACL user that may run only GATEWAY_ACL_COMMANDS on its own prefix: the whole reset flow
// and the CLI work with nothing denied (ACL LOG stays empty), so the minimal ACL in docs/operations.md is complete; and the
// password in REDIS_URL never reaches a log line.
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ROOT, runProgram } from '../support/bundle';
import { startGateway, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import {
  createGatewayAclUser,
  GATEWAY_ACL_COMMANDS,
  gatewayAclRules,
  startRedisAcl,
} from '../support/redis-topology';
import type { RedisAclNode } from '../support/redis-topology';
import {
  ARGON2_TEST_ENV,
  clientAs,
  loginWorks,
  nextOutboxLink,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { openClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

interface AclUser {
  readonly name: string;
  readonly password: string;
  readonly prefix: string;
  /** redis://name:password@host:port */
  readonly url: string;
}

describe('Redis as an ACL user with only the commands the gateway needs', () => {
  let redis: RedisAclNode;
  let admin: Redis;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    redis = await startRedisAcl();
    admin = new Redis(redis.adminUrl);
  }, 60_000);
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
  });
  afterAll(async () => {
    await admin?.quit();
    await redis?.stop();
  });

  async function aclUser(): Promise<AclUser> {
    const user = {
      name: `gw-${randomBytes(4).toString('hex')}`,
      password: `acl-pw-${randomBytes(12).toString('hex')}`,
      prefix: uniquePrefix(),
    };
    return { ...user, url: await createGatewayAclUser(redis.adminUrl, user) };
  }

  /** What Redis refused this user, by ACL LOG (reason, command or key). */
  async function denied(user: AclUser): Promise<string[]> {
    const entries = (await admin.call('ACL', 'LOG', '1024')) as string[][];
    return entries
      .map((flat) =>
        Object.fromEntries(flat.flatMap((item, i) => (i % 2 === 0 ? [[item, flat[i + 1]]] : []))),
      )
      .filter((entry) => entry.username === user.name)
      .map((entry) => `${String(entry.reason)} ${String(entry.object)}`);
  }

  it('is really confined: another prefix and any other command are refused', async () => {
    const user = await aclUser();
    const raw = new Redis(user.url, { maxRetriesPerRequest: 0 });
    try {
      expect(await raw.set(`${user.prefix}x`, '1')).toBe('OK');
      await expect(raw.get('elsewhere:x')).rejects.toThrow(/NOPERM/);
      await expect(raw.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
      await expect(raw.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
      await expect(raw.spublish('elsewhere', 'x')).rejects.toThrow(/NOPERM/);
    } finally {
      raw.disconnect();
    }
    expect(await denied(user)).toHaveLength(4);
  });

  it('runs the whole reset flow (ResetPassword, the mailed link, ResetPassword2, login) with nothing denied', async () => {
    const user = await aclUser();
    const gw = await startResetGateway({ REDIS_URL: user.url, REDIS_PREFIX: user.prefix });
    gateways.push(gw);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);
    const op = await clientAs(gw, 'op');
    const alice = await clientAs(gw, 'alice');
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = await openClient(gw.wsUrl);
    // a wrong code first: the wrong-try counter's script runs too
    expect(await submitLink(page, link, NEW_PASSWORD, 'WRONG-CODE-0000')).toMatchObject({ result: false });
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    // the reset ended alice's session on this gateway: the revocation went out on the user's channel
    await gw.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
    expect(await op.call('LogOut', {})).toMatchObject({ result: true });
    await Promise.all([op.close(), alice.close(), page.close()]);

    expect(await denied(user)).toEqual([]);
    expect(gw.logs.lines.join('\n')).not.toContain(user.password);
  });

  it('runs the CLI’s user, apikey and token commands with nothing denied', async () => {
    const user = await aclUser();
    const env = {
      REDIS_URL: user.url,
      REDIS_PREFIX: user.prefix,
      ARGON2_MEMORY_KIB: '64',
      ARGON2_ITERATIONS: '1',
    };
    const cli = async (...args: string[]) => {
      const run = await runProgram('gateway/cli/main.ts', args, env, 'zed-pw-1\n');
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout + run.stderr).not.toContain(user.password);
      return run.stdout;
    };
    await cli('user', 'add', '--username', 'zed', '--email', 'zed@example.com', '--password-stdin');
    await cli('user', 'grant', 'zed', 'Operator');
    await cli('user', 'add-account', 'zed', '7');
    await cli('user', 'lock', 'zed');
    await cli('user', 'unlock', 'zed');
    await cli('user', 'show', 'zed');
    await cli('user', 'list');
    const key = JSON.parse(await cli('apikey', 'create', 'zed')) as { APIKey: string };
    await cli('apikey', 'list', 'zed');
    await cli('apikey', 'revoke', 'zed', key.APIKey);
    await cli('token', 'create', '--name', 'portal');
    await cli('token', 'list');
    await cli('token', 'revoke', '--name', 'portal');

    const gw = await startGateway({ ...ARGON2_TEST_ENV, ...env });
    gateways.push(gw);
    expect(await loginWorks(gw, 'zed', 'zed-pw-1')).toBe(true);
    expect(await denied(user)).toEqual([]);
  }, 120_000); // thirteen CLI processes, one after another

  it('never logs the password in REDIS_URL, also when Redis refuses it', async () => {
    const user = await aclUser();
    const wrong = new URL(user.url);
    wrong.password = `${user.password}-wrong`;
    const gw = await startGateway({ REDIS_URL: wrong.toString(), REDIS_PREFIX: user.prefix });
    gateways.push(gw);
    await gw.logs.waitFor((entry) => String(entry.msg).startsWith('redis connection lost'));
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(503);
    expect(gw.logs.lines.join('\n')).not.toContain(user.password);

    const cli = await runProgram('gateway/cli/main.ts', ['user', 'list'], {
      REDIS_URL: wrong.toString(),
      REDIS_PREFIX: user.prefix,
    });
    expect(cli.code).toBe(1);
    expect(cli.stdout + cli.stderr).not.toContain(user.password);
  });

  it('lists every command the gateway’s scripts call (docs/operations.md shows the same ACL SETUSER line)', async () => {
    const sources = await sourceFiles(join(ROOT, 'gateway'));
    const called = new Set<string>();
    for (const file of sources) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/redis\.p?call\(\s*'([A-Za-z]+)'/g))
        called.add(match[1]!.toLowerCase());
    }
    expect(called.size).toBeGreaterThan(10);
    expect([...called].filter((command) => !GATEWAY_ACL_COMMANDS.includes(command))).toEqual([]);

    const readme = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(readme).toContain(`ACL SETUSER oms-gateway ${gatewayAclRules('PASSWORD', 'oms:').join(' ')}`);
  });
});

/** The .ts and .lua files under `dir`. */
async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.(ts|lua)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}
