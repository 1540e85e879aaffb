// `oms-gateway token …`: the API tokens of POST /api/User/authreset, made (shown once), listed and revoked by name.
import { z } from 'zod';
import { hashApiToken, newApiToken } from '../../core/api-tokens';
import { ENTRY_NAME } from '../entrypoints';
import { withStore } from './admin-store';
import type { Admin } from './admin-store';
import { check, CliError, expectArgs, parseWords, printLine, UsageError } from './command';
import type { CliCommand, CliIo } from './command';

const TokenNameSchema = z
  .string()
  .trim()
  .regex(/^[^\p{C}]{1,100}$/u, 'a token name is 1 to 100 characters, no control characters');
const EntrySchema = z.string().regex(ENTRY_NAME, 'an entry is 1 to 100 letters, digits, ".", "_" or "-"');

const OPTIONS = {
  name: { type: 'string' },
  entry: { type: 'string', multiple: true },
} as const;

type Words = ReturnType<typeof parseWords<typeof OPTIONS>>;

async function run({ positionals, values }: Words, io: CliIo, { store }: Admin): Promise<void> {
  const args = (count: number): void => expectArgs('token', positionals, count);
  switch (positionals[0]) {
    case 'create': {
      args(0);
      const name = check(TokenNameSchema, values.name, '--name');
      const entries = (values.entry ?? []).map((entry) => check(EntrySchema, entry, '--entry'));
      const token = newApiToken();
      const record = await store.apiTokens.create(hashApiToken(token), { name, entries });
      printLine(io, { Name: record.name, Entries: record.entries, Token: token });
      io.stderr.write('oms-gateway: keep the Token now; it is not shown again\n');
      return;
    }
    case 'list': {
      args(0);
      // what an operator needs to find a token to revoke; the hash identifies nothing they hold
      for (const record of await store.apiTokens.list()) {
        printLine(io, {
          Name: record.name,
          Entries: record.entries,
          ...(record.createdAt === '' ? {} : { DateTimeCreated: record.createdAt }),
        });
      }
      return;
    }
    case 'revoke': {
      args(0);
      const name = check(TokenNameSchema, values.name, '--name');
      const revoked = await store.apiTokens.revokeByName(name);
      if (revoked === 0) throw new CliError(`no API token named ${name} (see token list)`, 1);
      return printLine(io, { Name: name, Revoked: revoked });
    }
    default:
      throw new UsageError(`unknown token command: ${positionals[0] ?? '(none)'}`);
  }
}

export const tokenCommand: CliCommand = {
  name: 'token',
  usage: `  token create --name NAME [--entry ENTRY]...
                            prints an API token for POST /api/User/authreset once (only its SHA-256 is kept);
                            with --entry it may name only those entry points
  token list                every API token's name, entries and creation time (never the token)
  token revoke --name NAME  deletes every API token with that name: authreset answers 401 to them`,
  run: async (argv, io) => {
    const words = parseWords(argv, OPTIONS);
    return withStore(io, (admin) => run(words, io, admin));
  },
};
