// What the connect and storm scenarios share: who each connection logs in as, from --param.
import type { OmsClient } from '../../client/node';
import { ScenarioError } from '../scenario';
import type { SessionLink } from '../scenario';
import { targetUsers } from './reset-users';

/** The demo trader of the embedded store (gateway/stores/seed-users.ts), when no `users` param is given. */
const DEMO_USER = { users: 'trader1', password: 'demo-trader1' };

export interface Login {
  /** Logs the client in (measured as AuthenticateUser, or WebAuthenticateUser for a `token`); returns the session. */
  (client: OmsClient, link: SessionLink): Promise<string>;
}

/**
 * `users=a,b` or `users=load-user-{n} count=N first=1` with one `password` for all (connection n logs in as user n
 * mod count), or `token=SESSIONTOKEN` to resume one session on every connection. Default the demo trader1.
 */
export function loginFrom(params: Readonly<Record<string, string>>): Login {
  const token = params.token;
  if (token !== undefined) {
    if (token === '') throw new ScenarioError('--param token= is empty');
    return async (client, link) => resume(client, link, token, 'WebAuthenticateUser');
  }
  const names = targetUsers({ ...params, users: params.users ?? DEMO_USER.users });
  const password = params.password ?? (params.users === undefined ? DEMO_USER.password : undefined);
  if (password === undefined) throw new ScenarioError('--param users= needs --param password=');
  return async (client, link) => {
    const userName = names[link.context.connectionIndex % names.length]!;
    const startedAt = link.now();
    try {
      const reply = await client.authenticateUser({ UserName: userName, Password: password });
      if (!reply.Authenticated || reply.SessionToken === undefined) {
        throw new Error(`login as ${userName} refused: ${reply.errormsg ?? 'no reason'}`);
      }
      link.record('AuthenticateUser', startedAt);
      return reply.SessionToken;
    } catch (error) {
      link.record('AuthenticateUser', startedAt, error);
      throw error;
    }
  };
}

/** Resumes `token` on the client, recorded as `name`; throws when the gateway refuses it. */
export async function resume(
  client: OmsClient,
  link: SessionLink,
  token: string,
  name: string,
  startedAt = link.now(),
): Promise<string> {
  try {
    const reply = await client.webAuthenticateUser({ SessionToken: token });
    if (!reply.Authenticated) throw new Error(`resume refused: ${reply.errormsg ?? 'no reason'}`);
    link.record(name, startedAt);
    return token;
  } catch (error) {
    link.record(name, startedAt, error);
    throw error;
  }
}

/** Opens the connection, recorded as `connect`. */
export async function timedConnect(link: SessionLink): Promise<OmsClient> {
  const name = 'connect';
  const startedAt = link.now();
  try {
    const client = await link.connect();
    link.record(name, startedAt);
    return client;
  } catch (error) {
    link.record(name, startedAt, error);
    throw error;
  }
}

/** Closes the client, recorded as `close`. */
export async function timedClose(link: SessionLink, client: OmsClient): Promise<void> {
  const startedAt = link.now();
  await client.close();
  link.record('close', startedAt);
}
