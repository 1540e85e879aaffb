// Built-in scenario "reset-complete": the whole reset, ResetPassword → the mailed code → ResetPassword2 with a new password.
import { randomBytes } from 'node:crypto';
import type { OmsClient } from '../../client/node';
import { outboxSource, sinkSource } from '../reset-mail';
import type { MailSource } from '../reset-mail';
import { ScenarioError } from '../scenario';
import type { Scenario, ScenarioContext } from '../scenario';
import { logInOperator, roundRobin, targetUsers } from './reset-users';

/** The dev outbox of the gateway at a WebSocket URL: same host and port, path /dev/outbox. */
export function outboxUrlOf(wsUrl: string): string {
  const url = new URL(wsUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}/dev/outbox`;
}

/** A password no policy refuses: 24 random characters. Never logged or reported. */
function freshPassword(): string {
  return `${randomBytes(18).toString('base64url')}`;
}

/**
 * Params: those of reset-request (operator, operatorPassword, users, count, first), and where the codes come
 * from: `sink=PORT` runs a SendGrid-compatible sink on 127.0.0.1:PORT (the gateway runs with
 * SENDGRID_API_KEY=SG.<anything> and SENDGRID_BASE_URL=http://127.0.0.1:PORT); otherwise the gateway's dev
 * outbox, `outbox=URL` (default http://<host of --url>/dev/outbox). `mailTimeoutMs` bounds the wait for a
 * mail, default 10000. Seed more users than calls in flight: one user is in one cycle at a time.
 */
export function resetCompleteScenario(params: Readonly<Record<string, string>>): Scenario {
  const nextUser = roundRobin(targetUsers(params));
  const mailTimeoutMs = Number(params.mailTimeoutMs ?? 10_000);
  if (!(mailTimeoutMs > 0)) throw new ScenarioError('--param mailTimeoutMs must be a positive number');
  let source: MailSource | undefined;
  if (params.sink !== undefined) {
    const port = Number(params.sink);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ScenarioError('--param sink must be a port number (the sink listens on 127.0.0.1)');
    }
    source = sinkSource({ port });
  }
  /** UserIds by name, asked once per user with GetUserInfo (the link names the user by id). */
  const userIds = new Map<string, number>();

  async function userIdOf(client: OmsClient, userName: string): Promise<number> {
    const known = userIds.get(userName);
    if (known !== undefined) return known;
    const info = await client.getUserInfo<{ UserId: number }>({ UserName: userName });
    userIds.set(userName, info.UserId);
    return info.UserId;
  }

  async function cycle(client: OmsClient, context: ScenarioContext): Promise<void> {
    const userName = nextUser();
    const userId = await userIdOf(client, userName);
    await client.resetPassword({ UserName: userName });
    source ??= outboxSource(params.outbox ?? outboxUrlOf(context.url));
    const code = await source.nextCode(userId, mailTimeoutMs);
    await client.resetPassword2({ UserId: userId, Password: freshPassword(), PendingCode: code });
  }

  return {
    name: 'reset-complete',
    // one rotation of users (and one mail sink) for the whole run: worker threads would each start their own
    maxWorkers: 1,
    description: 'ResetPassword, the code from the dev outbox or a SendGrid sink, ResetPassword2 (argon2)',
    start: () => source?.start() ?? Promise.resolve(),
    setup: (client) => logInOperator(client, params),
    steps: [{ name: 'ResetPassword → mail → ResetPassword2', run: cycle }],
    stop: () => source?.stop() ?? Promise.resolve(),
  };
}
