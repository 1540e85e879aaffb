// `oms-gateway apikey …`: a user's API keys for AuthenticateUser's signed login, made, listed and revoked.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { requireUser, withStore } from './admin-store';
import type { Admin } from './admin-store';
import { check, CliError, expectArgs, parseWords, printLine, UsageError } from './command';
import type { CliCommand, CliIo } from './command';
import type { UserRecord } from '../../core/ports/store';
import { toUserInfo } from '../../handlers/user-wire';

// the login's own bound on an APIKey (handlers/authenticate-user.ts), and no spaces
const ApiKeySchema = z.string().regex(/^\S{1,256}$/, 'an API key is 1 to 256 characters, no spaces');

/** Whose key a line is about, in the wire's words (toUserInfo). */
function ownerOf(user: UserRecord): { UserId: number; UserName: string } {
  const { UserId, UserName } = toUserInfo(user);
  return { UserId, UserName };
}

async function run(positionals: readonly string[], io: CliIo, { store }: Admin): Promise<void> {
  const [action, name, apiKeyArg] = positionals;
  const args = (count: number): void => expectArgs('apikey', positionals, count);
  switch (action) {
    case 'create': {
      args(1);
      const user = await requireUser(store, name);
      const apiKey = randomBytes(16).toString('hex');
      const apiSecret = randomBytes(32).toString('hex');
      await store.apiKeys.create(user.userId, apiKey, apiSecret);
      printLine(io, { ...ownerOf(user), APIKey: apiKey, APISecret: apiSecret });
      io.stderr.write('oms-gateway: keep the APISecret now; it is not shown again\n');
      return;
    }
    case 'list': {
      args(1);
      const user = await requireUser(store, name);
      for (const apiKey of await store.apiKeys.list(user.userId)) {
        printLine(io, { ...ownerOf(user), APIKey: apiKey });
      }
      return;
    }
    case 'revoke': {
      args(2);
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
      return printLine(io, { ...ownerOf(user), APIKey: apiKey, Revoked: true });
    }
    default:
      throw new UsageError(`unknown apikey command: ${action ?? '(none)'}`);
  }
}

export const apiKeyCommand: CliCommand = {
  name: 'apikey',
  usage: `  apikey create NAME        prints the key and its secret once
  apikey list NAME          the user's API keys (the keys only, never their secrets)
  apikey revoke NAME APIKEY the key no longer logs in; the user's sessions end`,
  run: async (argv, io) => {
    const { positionals } = parseWords(argv, {});
    return withStore(io, (admin) => run(positionals, io, admin));
  },
};
