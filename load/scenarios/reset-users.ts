// What the reset scenarios share: the operator login and the round-robin list of target users, from --param.
import type { OmsClient } from '../../client/node';
import { ScenarioError } from '../scenario';

/** The demo operator of the embedded store (gateway/stores/seed-users.ts). */
const DEMO_OPERATOR = { userName: 'operator', password: 'demo-operator' };
/** The demo users an operator may reset, when no `users` param is given. */
const DEMO_TARGETS = 'trader1,trader2,trader3,viewer1';

/**
 * The target user names from `users`: a comma-separated list, or a pattern with `{n}` expanded for n = first …
 * first + count - 1 (`count` default 1000, `first` default 1), e.g. `users=load-user-{n} count=20000`.
 */
export function targetUsers(params: Readonly<Record<string, string>>): string[] {
  const spec = params.users ?? DEMO_TARGETS;
  if (!spec.includes('{n}')) {
    const names = spec
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    if (names.length === 0) throw new ScenarioError('--param users= names no user');
    return names;
  }
  const count = Number(params.count ?? 1000);
  const first = Number(params.first ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 10_000_000) {
    throw new ScenarioError('--param count must be an integer from 1 to 10000000');
  }
  if (!Number.isInteger(first) || first < 0) throw new ScenarioError('--param first must be an integer ≥ 0');
  return Array.from({ length: count }, (_, i) => spec.replaceAll('{n}', String(first + i)));
}

/** Hands out the names in turn to every connection of the run, so no user is asked for twice in a row. */
export function roundRobin(names: readonly string[]): () => string {
  let next = 0;
  return () => names[next++ % names.length]!;
}

/** Logs the connection in as the operator (`operator`, `operatorPassword`; default the demo operator). */
export async function logInOperator(
  client: OmsClient,
  params: Readonly<Record<string, string>>,
): Promise<void> {
  const userName = params.operator ?? DEMO_OPERATOR.userName;
  const reply = await client.authenticateUser({
    UserName: userName,
    Password: params.operatorPassword ?? DEMO_OPERATOR.password,
  });
  if (!reply.Authenticated) throw new Error(`login as ${userName} refused: ${reply.errormsg ?? 'no reason'}`);
}
