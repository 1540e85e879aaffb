#!/usr/bin/env node
// The oms-gateway command: user admin (users, permissions, accounts, API keys, authreset API tokens) against REDIS_URL, and `serve`.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { hashApiToken, newApiToken } from '../core/api-tokens';
import { ConfigError, loadConfig } from './config';
import type { Env } from './config';
import { ENTRY_NAME } from './entrypoints';
import { createLogger } from './logger';
import { createPasswordHasher } from './password-hasher';
import { createRedisStore } from './stores/redis/redis-store';
import { DuplicateUserError, StoreUnavailableError } from '../core/ports/store';
import type { Store, UserRecord } from '../core/ports/store';
import { LANGUAGES } from '../core/languages';

export const USAGE = `Usage: oms-gateway <command>

  user add --username NAME --email EMAIL [--password PW | --password-stdin] [--permission P]... [--account N]...
           [--language en|de|fr|es]
  user list
  user show NAME
  user lock NAME            (also ends the user's sessions on every gateway)
  user unlock NAME
  user grant NAME PERMISSION
  user revoke NAME PERMISSION
  user add-account NAME ACCOUNT_ID
  user set-language NAME LANG|none
                            the language of the user's mails and reset page (en, de, fr, es); none: the
                            request's (Accept-Language), else English
  apikey create NAME        prints the key and its secret once
  apikey list NAME          the user's API keys (the keys only, never their secrets)
  apikey revoke NAME APIKEY the key no longer logs in; the user's sessions end
  token create --name NAME [--entry ENTRY]...
                            prints an API token for POST /api/User/authreset once (only its SHA-256 is kept);
                            with --entry it may name only those entry points
  token list                every API token's name, entries and creation time (never the token)
  token revoke --name NAME  deletes every API token with that name: authreset answers 401 to them
  serve [--dev]             starts the gateway; --dev: development mode (demo users, dev outbox, loopback
                            HOST only), as OMS_DEV=1 and npm start
  load --url ws://… [options] load-tests a gateway (same as npm run load; --help lists the options)

The user, apikey and token commands work on the Redis that REDIS_URL (and REDIS_PREFIX) name.
Each prints its result as one JSON line. Exit status: 0 done, 1 refused or failed, 2 bad usage.`;

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Env;
}

/** A refusal the CLI reports as `oms-gateway: <message>` with its exit status. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const usageError = (message: string): CliError => new CliError(`${message}\n\n${USAGE}`, 2);

// user names: no spaces or control characters, so they survive shells, logs and e-mails intact
const UserNameSchema = z
  .string()
  .regex(/^[^\s\p{C}]{1,128}$/u, 'a user name is 1 to 128 characters, no spaces');
const EmailSchema = z.email('not a valid e-mail address').max(254);
const PermissionSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,127}$/,
    'a permission is a name such as Operator, Trading or a function name',
  );
const TokenNameSchema = z
  .string()
  .trim()
  .regex(/^[^\p{C}]{1,100}$/u, 'a token name is 1 to 100 characters, no control characters');
const EntrySchema = z.string().regex(ENTRY_NAME, 'an entry is 1 to 100 letters, digits, ".", "_" or "-"');
// the login's own bound on an APIKey (handlers/authenticate-user.ts), and no spaces
const ApiKeySchema = z.string().regex(/^\S{1,256}$/, 'an API key is 1 to 256 characters, no spaces');
const LanguageSchema = z.enum(LANGUAGES, { error: `a language is one of ${LANGUAGES.join(', ')}` });
/** set-language's argument: a language, or `none` to clear it. */
const LanguageOrNoneSchema = z.union([z.literal('none').transform(() => null), LanguageSchema], {
  error: `a language is one of ${LANGUAGES.join(', ')}, or none`,
});
const AccountIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, 'an account id is a positive integer')
  .transform(Number);

function check<T>(schema: z.ZodType<T>, value: string | undefined, what: string): T {
  if (value === undefined) throw usageError(`missing ${what}`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CliError(`bad ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 2);
  return parsed.data;
}

/** The JSON line printed for a user: PascalCase like the wire, never the password hash. */
function userLine(user: UserRecord): string {
  return JSON.stringify({
    UserId: user.userId,
    UserName: user.userName,
    Email: user.email,
    EmailVerified: user.emailVerified,
    AccountId: user.accountId,
    AccountIds: user.accountIds,
    Permissions: user.permissions,
    Locked: user.locked,
    HasPassword: user.passwordHash !== null,
    OMSId: user.omsId,
    DateTimeCreated: user.createdAt,
    Language: user.language,
  });
}

async function readPasswordFromStdin(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  // `echo pw | …` and here-strings end with a newline that is not part of the password
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new CliError('--password-stdin read an empty password', 2);
  return password;
}

interface Parsed {
  readonly positionals: string[];
  readonly values: {
    username?: string;
    email?: string;
    password?: string;
    'password-stdin'?: boolean;
    permission?: string[];
    account?: string[];
    language?: string;
    name?: string;
    entry?: string[];
    help?: boolean;
    dev?: boolean;
  };
}

function parse(argv: readonly string[]): Parsed {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        username: { type: 'string' },
        email: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        permission: { type: 'string', multiple: true },
        account: { type: 'string', multiple: true },
        language: { type: 'string' },
        name: { type: 'string' },
        entry: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        dev: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
}

function openStore(env: Env): { store: Store; config: ReturnType<typeof loadConfig> } {
  // production's other needs (a mailer, the reset page) are the serving gateway's, not the admin's
  const config = loadConfig(env, { role: 'admin' });
  if (config.redis === null) {
    throw new CliError(
      'REDIS_URL is not set: the user commands work on the shared Redis store (redis://host:port)',
      2,
    );
  }
  // the store's own logs (connection lost, …) would interleave with the JSON lines: failures come back as errors
  return { store: createRedisStore(config.redis, createLogger('silent')), config };
}

async function requireUser(store: Store, userName: string | undefined): Promise<UserRecord> {
  const name = check(UserNameSchema, userName, 'user name');
  const user = await store.users.findByName(name);
  if (!user) throw new CliError(`no user named ${name}`, 1);
  return user;
}

/** Asserts exactly `count` positionals after the command words. */
function expectArgs(positionals: readonly string[], count: number): void {
  if (positionals.length !== count)
    throw usageError(`expected ${count - 2} argument(s) after "${positionals.slice(0, 2).join(' ')}"`);
}

async function runUserCommand(
  parsed: Parsed,
  io: CliIo,
  store: Store,
  config: ReturnType<typeof loadConfig>,
): Promise<void> {
  const { positionals, values } = parsed;
  const [, action, name, extra] = positionals;
  const print = (line: string): void => void io.stdout.write(`${line}\n`);
  const updated = (user: UserRecord | null): void => {
    if (!user) throw new CliError(`no user named ${name ?? ''}`, 1);
    print(userLine(user));
  };

  switch (action) {
    case 'add': {
      expectArgs(positionals, 2);
      const userName = check(UserNameSchema, values.username, '--username');
      const email = check(EmailSchema, values.email, '--email');
      const permissions = (values.permission ?? []).map((permission) =>
        check(PermissionSchema, permission, '--permission'),
      );
      const accountIds = (values.account ?? []).map((account) =>
        check(AccountIdSchema, account, '--account'),
      );
      const language =
        values.language === undefined ? null : check(LanguageSchema, values.language, '--language');
      if (values.password !== undefined && values['password-stdin']) {
        throw usageError('give --password or --password-stdin, not both');
      }
      if (values.password === '') throw new CliError('--password is empty', 2);
      const password = values['password-stdin'] ? await readPasswordFromStdin(io.stdin) : values.password;
      const hasher = createPasswordHasher({ ...config.argon2, concurrency: 1 });
      const user = await store.users
        .create({
          userName,
          email,
          // the address is the admin's word for it
          emailVerified: true,
          passwordHash: password === undefined ? null : await hasher.hash(password),
          permissions,
          accountIds,
          language,
        })
        .catch((error: unknown) => {
          if (!(error instanceof DuplicateUserError)) throw error;
          const taken = error.field === 'UserName' ? `user name ${userName}` : `e-mail address ${email}`;
          throw new CliError(`${taken} is already in use (compared case-insensitively)`, 1);
        });
      return print(userLine(user));
    }
    case 'list': {
      expectArgs(positionals, 2);
      for (const user of await store.users.list()) print(userLine(user));
      return;
    }
    case 'show': {
      expectArgs(positionals, 3);
      return print(userLine(await requireUser(store, name)));
    }
    case 'lock': {
      expectArgs(positionals, 3);
      const user = await requireUser(store, name);
      const locked = await store.users.setLocked(user.userId, true);
      // a locked user's sessions stop answering at once; ending them also tells every gateway's sockets
      const ended = await store.sessions.revokeAllForUser(user.userId);
      if (ended > 0) io.stderr.write(`oms-gateway: ended ${ended} session(s) of ${user.userName}\n`);
      return updated(locked);
    }
    case 'unlock': {
      expectArgs(positionals, 3);
      return updated(await store.users.setLocked((await requireUser(store, name)).userId, false));
    }
    case 'grant':
    case 'revoke': {
      expectArgs(positionals, 4);
      const user = await requireUser(store, name);
      const permission = check(PermissionSchema, extra, 'permission');
      return updated(
        action === 'grant'
          ? await store.users.grant(user.userId, permission)
          : await store.users.revoke(user.userId, permission),
      );
    }
    case 'add-account': {
      expectArgs(positionals, 4);
      const user = await requireUser(store, name);
      return updated(await store.users.addAccount(user.userId, check(AccountIdSchema, extra, 'account id')));
    }
    case 'set-language': {
      expectArgs(positionals, 4);
      const user = await requireUser(store, name);
      const language = check(LanguageOrNoneSchema, extra, 'language');
      return updated(await store.users.setLanguage(user.userId, language));
    }
    default:
      throw usageError(`unknown user command: ${action ?? '(none)'}`);
  }
}

async function runApiKeyCommand(parsed: Parsed, io: CliIo, store: Store): Promise<void> {
  const { positionals } = parsed;
  const [, action, name, apiKeyArg] = positionals;
  const print = (line: object): void => void io.stdout.write(`${JSON.stringify(line)}\n`);
  switch (action) {
    case 'create': {
      expectArgs(positionals, 3);
      const user = await requireUser(store, name);
      const apiKey = randomBytes(16).toString('hex');
      const apiSecret = randomBytes(32).toString('hex');
      await store.apiKeys.create(user.userId, apiKey, apiSecret);
      print({ UserId: user.userId, UserName: user.userName, APIKey: apiKey, APISecret: apiSecret });
      io.stderr.write('oms-gateway: keep the APISecret now; it is not shown again\n');
      return;
    }
    case 'list': {
      expectArgs(positionals, 3);
      const user = await requireUser(store, name);
      for (const apiKey of await store.apiKeys.list(user.userId)) {
        print({ UserId: user.userId, UserName: user.userName, APIKey: apiKey });
      }
      return;
    }
    case 'revoke': {
      expectArgs(positionals, 4);
      const user = await requireUser(store, name);
      const apiKey = check(ApiKeySchema, apiKeyArg, 'API key');
      // the key is not echoed in the refusal: it may be a secret pasted in the wrong place
      if (!(await store.apiKeys.revoke(user.userId, apiKey))) {
        throw new CliError(`${user.userName} has no such API key (see apikey list ${user.userName})`, 1);
      }
      // a session does not record which credential opened it, so a session opened with a leaked key can only
      // be ended with all of the user's: every gateway de-authenticates those sockets at once
      const ended = await store.sessions.revokeAllForUser(user.userId);
      if (ended > 0) io.stderr.write(`oms-gateway: ended ${ended} session(s) of ${user.userName}\n`);
      return print({ UserId: user.userId, UserName: user.userName, APIKey: apiKey, Revoked: true });
    }
    default:
      throw usageError(`unknown apikey command: ${action ?? '(none)'}`);
  }
}

async function runTokenCommand(parsed: Parsed, io: CliIo, store: Store): Promise<void> {
  const { positionals, values } = parsed;
  const print = (line: object): void => void io.stdout.write(`${JSON.stringify(line)}\n`);
  switch (positionals[1]) {
    case 'create': {
      expectArgs(positionals, 2);
      const name = check(TokenNameSchema, values.name, '--name');
      const entries = (values.entry ?? []).map((entry) => check(EntrySchema, entry, '--entry'));
      const token = newApiToken();
      const record = await store.apiTokens.create(hashApiToken(token), { name, entries });
      print({ Name: record.name, Entries: record.entries, Token: token });
      io.stderr.write('oms-gateway: keep the Token now; it is not shown again\n');
      return;
    }
    case 'list': {
      expectArgs(positionals, 2);
      // what an operator needs to find a token to revoke; the hash identifies nothing they hold
      for (const record of await store.apiTokens.list()) {
        print({
          Name: record.name,
          Entries: record.entries,
          ...(record.createdAt === '' ? {} : { DateTimeCreated: record.createdAt }),
        });
      }
      return;
    }
    case 'revoke': {
      expectArgs(positionals, 2);
      const name = check(TokenNameSchema, values.name, '--name');
      const revoked = await store.apiTokens.revokeByName(name);
      if (revoked === 0) throw new CliError(`no API token named ${name} (see token list)`, 1);
      return print({ Name: name, Revoked: revoked });
    }
    default:
      throw usageError(`unknown token command: ${positionals[1] ?? '(none)'}`);
  }
}

/** Runs one command; resolves with the exit status. Never throws for a user's mistake. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let store: Store | undefined;
  try {
    if (argv[0] === 'load') {
      // a client of a gateway with its own options (load/cli.ts); required here so `serve` and the user
      // commands never load the load generator
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const load = require('../load/cli') as typeof import('../load/cli');
      return await load.main(argv.slice(1), io);
    }
    const parsed = parse(argv);
    const command = parsed.positionals[0];
    if (parsed.values.help || command === undefined || command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return command === undefined && !parsed.values.help ? 2 : 0;
    }
    if (command === 'serve') {
      // the gateway process itself: it reads the environment (and --dev from argv), listens, and exits on
      // SIGTERM/SIGINT
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('./main');
      return 0;
    }
    if (command !== 'user' && command !== 'apikey' && command !== 'token') {
      throw usageError(`unknown command: ${command}`);
    }
    if (parsed.values.dev) throw usageError('--dev is an option of serve only');
    const opened = openStore(io.env);
    store = opened.store;
    if (command === 'user') await runUserCommand(parsed, io, store, opened.config);
    else if (command === 'token') await runTokenCommand(parsed, io, store);
    else await runApiKeyCommand(parsed, io, store);
    return 0;
  } catch (error) {
    const [message, code] =
      error instanceof CliError
        ? [error.message, error.exitCode]
        : error instanceof ConfigError
          ? [error.message, 2]
          : error instanceof StoreUnavailableError
            ? ['Redis at REDIS_URL does not answer; is it running?', 1]
            : [`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, 1];
    io.stderr.write(`oms-gateway: ${message}\n`);
    return code;
  } finally {
    await store?.close();
  }
}

if (require.main === module) {
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      // `serve` keeps the process alive through its server; the others end here
      if (process.argv[2] !== 'serve') process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`oms-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
