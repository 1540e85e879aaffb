// `oms-gateway user …`: add, list and show users, lock them, change their permissions, accounts and language.
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { toUserInfo } from '../../handlers/user-wire';
import { DuplicateUserError } from '../../core/ports/store';
import type { UserRecord } from '../../core/ports/store';
import { LANGUAGES } from '../../core/languages';
import { createPasswordHasher } from '../password-hasher';
import { requireUser, UserNameSchema, withStore } from './admin-store';
import type { Admin } from './admin-store';
import { check, CliError, expectArgs, parseWords, printLine, UsageError } from './command';
import type { CliCommand, CliIo } from './command';

const EmailSchema = z.email('not a valid e-mail address').max(254);
const PermissionSchema = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,127}$/,
    'a permission is a name such as Operator, Trading or a function name',
  );
const AccountIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, 'an account id is a positive integer')
  .transform(Number);
const LanguageSchema = z.enum(LANGUAGES, { error: `a language is one of ${LANGUAGES.join(', ')}` });
/** set-language's argument: a language, or `none` to clear it. */
const LanguageOrNoneSchema = z.union([z.literal('none').transform(() => null), LanguageSchema], {
  error: `a language is one of ${LANGUAGES.join(', ')}, or none`,
});

const OPTIONS = {
  username: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  permission: { type: 'string', multiple: true },
  account: { type: 'string', multiple: true },
  language: { type: 'string' },
} as const;

type Words = ReturnType<typeof parseWords<typeof OPTIONS>>;
type Values = Words['values'];

/** The line printed for a user: the wire's fields (toUserInfo), and what only an admin sees; never the hash. */
export function userLine(user: UserRecord) {
  return {
    ...toUserInfo(user),
    AccountIds: user.accountIds,
    Permissions: user.permissions,
    HasPassword: user.passwordHash !== null,
    Language: user.language,
  };
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

async function addUser(values: Values, io: CliIo, { store, config }: Admin): Promise<UserRecord> {
  const userName = check(UserNameSchema, values.username, '--username');
  const email = check(EmailSchema, values.email, '--email');
  const permissions = (values.permission ?? []).map((permission) =>
    check(PermissionSchema, permission, '--permission'),
  );
  const accountIds = (values.account ?? []).map((account) => check(AccountIdSchema, account, '--account'));
  const language =
    values.language === undefined ? null : check(LanguageSchema, values.language, '--language');
  if (values.password !== undefined && values['password-stdin']) {
    throw new UsageError('give --password or --password-stdin, not both');
  }
  if (values.password === '') throw new CliError('--password is empty', 2);
  const password = values['password-stdin'] ? await readPasswordFromStdin(io.stdin) : values.password;
  const hasher = createPasswordHasher({ ...config.argon2, concurrency: 1 });
  return store.users
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
}

async function run({ positionals, values }: Words, io: CliIo, admin: Admin): Promise<void> {
  const { store } = admin;
  const [action, name, extra] = positionals;
  const args = (count: number): void => expectArgs('user', positionals, count);
  const print = (user: UserRecord | null): void => {
    if (!user) throw new CliError(`no user named ${name ?? ''}`, 1);
    printLine(io, userLine(user));
  };
  switch (action) {
    case 'add':
      args(0);
      return print(await addUser(values, io, admin));
    case 'list':
      args(0);
      for (const user of await store.users.list()) print(user);
      return;
    case 'show':
      args(1);
      return print(await requireUser(store, name));
    case 'lock': {
      args(1);
      const user = await requireUser(store, name);
      const locked = await store.users.setLocked(user.userId, true);
      // a locked user's sessions stop answering at once; ending them also tells every gateway's sockets
      const ended = await store.sessions.revokeAllForUser(user.userId);
      if (ended > 0) io.stderr.write(`oms-gateway: ended ${ended} session(s) of ${user.userName}\n`);
      return print(locked);
    }
    case 'unlock':
      args(1);
      return print(await store.users.setLocked((await requireUser(store, name)).userId, false));
    case 'grant':
    case 'revoke': {
      args(2);
      const user = await requireUser(store, name);
      const permission = check(PermissionSchema, extra, 'permission');
      return print(
        action === 'grant'
          ? await store.users.grant(user.userId, permission)
          : await store.users.revoke(user.userId, permission),
      );
    }
    case 'add-account': {
      args(2);
      const user = await requireUser(store, name);
      return print(await store.users.addAccount(user.userId, check(AccountIdSchema, extra, 'account id')));
    }
    case 'set-language': {
      args(2);
      const user = await requireUser(store, name);
      const language = check(LanguageOrNoneSchema, extra, 'language');
      return print(await store.users.setLanguage(user.userId, language));
    }
    default:
      throw new UsageError(`unknown user command: ${action ?? '(none)'}`);
  }
}

export const userCommand: CliCommand = {
  name: 'user',
  usage: `  user add --username NAME --email EMAIL [--password PW | --password-stdin] [--permission P]... [--account N]...
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
                            request's (Accept-Language), else English`,
  run: async (argv, io) => {
    const words = parseWords(argv, OPTIONS);
    return withStore(io, (admin) => run(words, io, admin));
  },
};
