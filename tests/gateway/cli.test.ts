// The oms-gateway command end to end: spawned as a process against the test redis-server, checked through a gateway.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleEntry, processEnv, ROOT, runProgram } from '../support/bundle';
import type { ProgramRun } from '../support/bundle';
import { hashApiToken } from '../../core/api-tokens';
import { signApiLogin } from '../../core/login';
import { startGateway, testRedisUrl, uniquePrefix } from '../support/gateway';
import { openClient } from '../support/ws-client';
import { closedAfterEach } from '../support/lifecycle';

type Run = ProgramRun;

// the shipped command is tsc's dist/gateway/cli/main.js; esbuild compiles the same source in milliseconds,
// so the test runs the real program as a process without a full build
function runCli(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return runProgram('gateway/cli/main.ts', args, env, input);
}

describe('oms-gateway CLI', () => {
  let env: Record<string, string>;
  const cli = (args: string[], input?: string) => runCli(args, env, input);
  const jsonLines = (run: Run) =>
    run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeEach(() => {
    env = {
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniquePrefix(),
      ARGON2_MEMORY_KIB: '64',
      ARGON2_ITERATIONS: '1',
    };
  });

  const gatewayOnSameRedis = async () => closedAfterEach(await startGateway(env));

  it('adds a user, printing it as one JSON line, and the gateway logs it in', async () => {
    const run = await cli([
      'user',
      'add',
      '--username',
      'Alice',
      '--email',
      'alice@example.com',
      '--password',
      'alice-pw-1',
      '--permission',
      'Trading',
      '--account',
      '4',
      '--account',
      '2',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.split('\n')).toHaveLength(2); // one line and its newline
    expect(jsonLines(run)).toEqual([
      {
        UserId: 1,
        UserName: 'Alice',
        Email: 'alice@example.com',
        EmailVerified: true,
        AccountId: 4,
        AccountIds: [2, 4],
        Permissions: ['Trading'],
        Locked: false,
        HasPassword: true,
        OMSId: 1,
        DateTimeCreated: expect.any(String),
        Use2FA: false,
        Language: null,
      },
    ]);
    expect(run.stdout).not.toMatch(/argon2|alice-pw-1/);
    const { wsUrl } = await gatewayOnSameRedis();
    const client = await openClient(wsUrl);
    expect(
      await client.call('AuthenticateUser', { UserName: 'alice', Password: 'alice-pw-1' }),
    ).toMatchObject({
      Authenticated: true,
      User: { UserId: 1, AccountId: 4 },
    });
    await client.close();
  });

  it('reads the password from stdin with --password-stdin', async () => {
    expect(
      await cli(
        ['user', 'add', '--username', 'bob', '--email', 'bob@example.com', '--password-stdin'],
        'b0b pw\n',
      ),
    ).toMatchObject({ code: 0 });
    const { wsUrl } = await gatewayOnSameRedis();
    const client = await openClient(wsUrl);
    expect(await client.call('AuthenticateUser', { UserName: 'bob', Password: 'b0b pw' })).toMatchObject({
      Authenticated: true,
    });
    await client.close();
  });

  it('refuses a duplicate user name or e-mail (any case) with exit 1 and a clear message', async () => {
    await cli(['user', 'add', '--username', 'carol', '--email', 'carol@example.com']);
    const sameName = await cli(['user', 'add', '--username', 'CAROL', '--email', 'other@example.com']);
    expect(sameName).toEqual({
      code: 1,
      stdout: '',
      stderr: 'oms-gateway: user name CAROL is already in use (compared case-insensitively)\n',
    });
    const sameEmail = await cli(['user', 'add', '--username', 'carol2', '--email', 'Carol@Example.com']);
    expect(sameEmail.code).toBe(1);
    expect(sameEmail.stderr).toBe(
      'oms-gateway: e-mail address Carol@Example.com is already in use (compared case-insensitively)\n',
    );
    expect(jsonLines(await cli(['user', 'list']))).toHaveLength(1);
  });

  it('refuses a bad e-mail address, and a missing REDIS_URL, with exit 2', async () => {
    const badEmail = await cli(['user', 'add', '--username', 'dave', '--email', 'dave-at-example']);
    expect(badEmail).toEqual({
      code: 2,
      stdout: '',
      stderr: 'oms-gateway: bad --email: not a valid e-mail address\n',
    });
    const noRedis = await runCli(['user', 'list'], { ...env, REDIS_URL: '' });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('no Redis is set');
  });

  it('shows, grants, revokes, adds accounts, locks and unlocks', async () => {
    await cli(['user', 'add', '--username', 'erin', '--email', 'erin@example.com']);
    expect(jsonLines(await cli(['user', 'grant', 'erin', 'Operator']))[0]).toMatchObject({
      Permissions: ['Operator'],
    });
    expect(jsonLines(await cli(['user', 'grant', 'ERIN', 'GetUserInfo']))[0]).toMatchObject({
      Permissions: ['GetUserInfo', 'Operator'],
    });
    expect(jsonLines(await cli(['user', 'revoke', 'erin', 'Operator']))[0]).toMatchObject({
      Permissions: ['GetUserInfo'],
    });
    expect(jsonLines(await cli(['user', 'add-account', 'erin', '7']))[0]).toMatchObject({
      AccountIds: [7],
      AccountId: 7,
    });
    expect(jsonLines(await cli(['user', 'lock', 'erin']))[0]).toMatchObject({ Locked: true });
    expect(jsonLines(await cli(['user', 'unlock', 'erin']))[0]).toMatchObject({ Locked: false });
    expect(jsonLines(await cli(['user', 'show', 'erin']))).toEqual([
      expect.objectContaining({
        UserName: 'erin',
        Permissions: ['GetUserInfo'],
        AccountIds: [7],
        HasPassword: false,
      }),
    ]);
    expect(await cli(['user', 'show', 'nobody'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'oms-gateway: no user named nobody\n',
    });
    expect((await cli(['user', 'add-account', 'erin', 'seven'])).code).toBe(2);
  });

  it("sets a user's Language with user add --language and user set-language, and refuses one it has no catalogue for", async () => {
    const added = await cli([
      'user',
      'add',
      '--username',
      'hans',
      '--email',
      'hans@example.com',
      '--language',
      'de',
    ]);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(added)[0]).toMatchObject({ UserName: 'hans', Language: 'de' });
    expect(jsonLines(await cli(['user', 'set-language', 'HANS', 'fr']))[0]).toMatchObject({ Language: 'fr' });
    expect(jsonLines(await cli(['user', 'show', 'hans']))[0]).toMatchObject({ Language: 'fr' });
    expect(jsonLines(await cli(['user', 'set-language', 'hans', 'none']))[0]).toMatchObject({
      Language: null,
    });
    expect(await cli(['user', 'set-language', 'hans', 'ja'])).toEqual({
      code: 2,
      stdout: '',
      stderr: 'oms-gateway: bad language: a language is one of en, de, fr, es, or none\n',
    });
    expect(
      await cli(['user', 'add', '--username', 'ines', '--email', 'ines@example.com', '--language', 'pt']),
    ).toEqual({
      code: 2,
      stdout: '',
      stderr: 'oms-gateway: bad --language: a language is one of en, de, fr, es\n',
    });
    expect((await cli(['user', 'set-language', 'nobody', 'de'])).code).toBe(1);
    expect((await cli(['user', 'set-language', 'hans'])).code).toBe(2);
    expect(jsonLines(await cli(['user', 'list'])).map((user) => [user.UserName, user.Language])).toEqual([
      ['hans', null],
    ]);
  });

  it("ends a locked user's live sessions on the gateways", async () => {
    await cli([
      'user',
      'add',
      '--username',
      'frank',
      '--email',
      'frank@example.com',
      '--password',
      'frank-pw',
    ]);
    const gateway = await gatewayOnSameRedis();
    await gateway.gateway.services.store.sessions.whenListening();
    const client = await openClient(gateway.wsUrl);
    await client.call('AuthenticateUser', { UserName: 'frank', Password: 'frank-pw' });
    const lock = await cli(['user', 'lock', 'frank']);
    expect(lock.stderr).toBe('oms-gateway: ended 1 session(s) of frank\n');
    await gateway.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    expect(await client.call('AuthenticateUser', { UserName: 'frank', Password: 'frank-pw' })).toMatchObject({
      Authenticated: false,
      Locked: true,
    });
    await client.close();
  });

  it('creates an API key, printing key and secret once, that logs in on the gateway', async () => {
    await cli(['user', 'add', '--username', 'gina', '--email', 'gina@example.com']);
    const run = await cli(['apikey', 'create', 'gina']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('oms-gateway: keep the APISecret now; it is not shown again\n');
    const [created] = jsonLines(run) as [{ UserId: number; APIKey: string; APISecret: string }];
    expect(created).toEqual({
      UserId: 1,
      UserName: 'gina',
      APIKey: expect.stringMatching(/^[0-9a-f]{32}$/),
      APISecret: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { wsUrl } = await gatewayOnSameRedis();
    const client = await openClient(wsUrl);
    const login = {
      APIKey: created.APIKey,
      UserId: created.UserId,
      Nonce: 1,
      Signature: signApiLogin(created.APISecret, '1', created.UserId, created.APIKey),
    };
    expect(await client.call('AuthenticateUser', login)).toMatchObject({ Authenticated: true });
    await client.close();
  });

  it("lists a user's API keys without their secrets, and a revoked key fails to log in like a wrong key", async () => {
    await cli(['user', 'add', '--username', 'hank', '--email', 'hank@example.com']);
    const created = [
      jsonLines(await cli(['apikey', 'create', 'hank']))[0],
      jsonLines(await cli(['apikey', 'create', 'hank']))[0],
    ] as { UserId: number; APIKey: string; APISecret: string }[];
    const [revoked, kept] = created as [(typeof created)[0], (typeof created)[0]];
    const list = await cli(['apikey', 'list', 'HANK']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(list)).toEqual(
      created
        .map((key) => key.APIKey)
        .sort()
        .map((APIKey) => ({ UserId: 1, UserName: 'hank', APIKey })),
    );
    for (const key of created) expect(list.stdout).not.toContain(key.APISecret);

    const gateway = await gatewayOnSameRedis();
    await gateway.gateway.services.store.sessions.whenListening();
    const client = await openClient(gateway.wsUrl);
    const login = (key: { APIKey: string; APISecret: string }, nonce: number) =>
      client.call('AuthenticateUser', {
        APIKey: key.APIKey,
        UserId: 1,
        Nonce: nonce,
        Signature: signApiLogin(key.APISecret, String(nonce), 1, key.APIKey),
      });
    expect(await login(revoked, 1)).toMatchObject({ Authenticated: true });

    expect(await cli(['apikey', 'revoke', 'hank', revoked.APIKey])).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ UserId: 1, UserName: 'hank', APIKey: revoked.APIKey, Revoked: true })}\n`,
      stderr: 'oms-gateway: ended 1 session(s) of hank\n',
    });
    // the session the revoked key opened ends on the gateway too
    await gateway.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    const wrongKey = await login({ APIKey: 'f'.repeat(32), APISecret: 'not the secret' }, 2);
    expect(wrongKey).toMatchObject({ Authenticated: false });
    expect(await login(revoked, 3)).toEqual(wrongKey);
    expect(await login(kept, 4)).toMatchObject({ Authenticated: true });
    await client.close();

    expect(jsonLines(await cli(['apikey', 'list', 'hank']))).toEqual([
      { UserId: 1, UserName: 'hank', APIKey: kept.APIKey },
    ]);
    expect(await cli(['apikey', 'revoke', 'hank', revoked.APIKey])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'oms-gateway: hank has no such API key (see apikey list hank)\n',
    });
    expect((await cli(['apikey', 'revoke', 'hank'])).code).toBe(2);
    expect((await cli(['apikey', 'list', 'nobody'])).code).toBe(1);
  });

  it('lists API tokens by name and entries, never the token, and a revoked token gets 401 from the gateway', async () => {
    const tokens = ['backoffice', 'backoffice', 'Partner portal'].map(async (name) => {
      const run = await cli([
        'token',
        'create',
        '--name',
        name,
        ...(name === 'backoffice' ? [] : ['--entry', 'acme']),
      ]);
      return (jsonLines(run)[0] as { Token: string }).Token;
    });
    const [first, second, partner] = (await Promise.all(tokens)) as [string, string, string];
    const list = await cli(['token', 'list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const created = { DateTimeCreated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) };
    expect(jsonLines(list)).toEqual([
      { Name: 'Partner portal', Entries: ['acme'], ...created },
      { Name: 'backoffice', Entries: [], ...created },
      { Name: 'backoffice', Entries: [], ...created },
    ]);
    for (const token of [first, second, partner]) {
      expect(list.stdout).not.toContain(token);
      expect(list.stdout).not.toContain(hashApiToken(token));
    }

    const { httpUrl } = await gatewayOnSameRedis();
    const authReset = (token: string) =>
      fetch(`${httpUrl}/api/User/authreset`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', requestToken: token },
        body: JSON.stringify({ email: 'nobody@example.com' }),
      }).then((response) => response.status);
    expect(await authReset(first)).toBe(200);

    expect(await cli(['token', 'revoke', '--name', 'backoffice'])).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ Name: 'backoffice', Revoked: 2 })}\n`,
      stderr: '',
    });
    expect(await authReset(first)).toBe(401);
    expect(await authReset(second)).toBe(401);
    expect(jsonLines(await cli(['token', 'list']))).toEqual([
      { Name: 'Partner portal', Entries: ['acme'], ...created },
    ]);
    expect(await cli(['token', 'revoke', '--name', 'backoffice'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'oms-gateway: no API token named backoffice (see token list)\n',
    });
    expect((await cli(['token', 'revoke'])).code).toBe(2);
    expect((await cli(['token', 'revoke', '--name', 'Partner portal'])).code).toBe(0);
    expect(await cli(['token', 'list'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it("prints the usage of every command group for --help, on stdout with exit 0, and refuses another group's option", async () => {
    for (const args of [['--help'], ['user', '--help'], ['token', 'create', '-h']]) {
      const run = await cli(args);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      for (const line of [
        'user set-language NAME',
        'apikey revoke NAME',
        'token create --name',
        'serve [--dev]',
        'load --url',
      ]) {
        expect(run.stdout).toContain(line);
      }
    }
    const misplaced = await cli(['user', 'list', '--dev']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toMatch(/^oms-gateway: Unknown option '--dev'[\s\S]*Usage: oms-gateway/);
    expect(await cli(['user', 'show'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^oms-gateway: expected 1 argument\(s\) after "user show"/),
    });
  });

  it('answers an unknown command with the usage and exit 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command: frobnicate');
    expect(run.stderr).toContain('Usage: oms-gateway');
  });

  it('serves the gateway with `serve --dev`, with the demo users when there is no Redis, until SIGTERM', async () => {
    const child = spawn(process.execPath, [await bundleEntry('gateway/cli/main.ts'), 'serve', '--dev'], {
      env: processEnv({ PORT: '0', ...env, REDIS_URL: '' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    let output = '';
    const port = await new Promise<number>((resolvePort, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const listening = output
          .split('\n')
          .slice(0, -1) // complete lines only
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { msg?: string; port?: number })
          .find((line) => line.msg === 'gateway listening');
        if (listening?.port !== undefined) resolvePort(listening.port);
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${output}`)));
    });
    expect(output).toContain(
      'demo users loaded (development mode, embedded store); log in with: operator / demo-operator',
    );
    const client = await openClient(`ws://127.0.0.1:${port}/WSGateway`);
    expect(
      await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'demo-trader1' }),
    ).toMatchObject({
      Authenticated: true,
    });
    await client.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses `serve` without --dev and without production settings, with exit 2', async () => {
    const run = await runCli(['serve'], { PORT: '0' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SENDGRID_API_KEY: required outside development mode');
    expect(run.stdout).not.toContain('demo-operator');
  });

  it('is installed as the package bin, with a node shebang', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ 'oms-gateway': 'dist/gateway/cli/main.js' });
    expect((await readFile(join(ROOT, 'gateway/cli/main.ts'), 'utf8')).split('\n')[0]).toBe(
      '#!/usr/bin/env node',
    );
  });
});
