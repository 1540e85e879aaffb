// Built-in scenario "reset-request": an operator asks ResetPassword for many seeded users in turn (code + mail queued).
import type { Scenario } from '../scenario';
import { logInOperator, roundRobin, targetUsers } from './reset-users';

/**
 * Each call issues a live code and queues a mail, so the gateway's reset limits apply: one mail per user per
 * RESET_TARGET_INTERVAL_SECONDS (60) and RESET_TARGET_HOURLY_LIMIT (5), RESET_CALLER_LIMIT (20) per
 * RESET_CALLER_WINDOW_SECONDS for the operator. Raise them for the run, and seed more users than the run
 * reaches in one interval (docs/performance.md); otherwise the calls count as errors 101.
 */
export function resetRequestScenario(params: Readonly<Record<string, string>>): Scenario {
  const nextUser = roundRobin(targetUsers(params));
  return {
    name: 'reset-request',
    // one rotation of users (and one mail sink) for the whole run: worker threads would each start their own
    maxWorkers: 1,
    description: 'an operator asks ResetPassword for the users of --param users, round robin',
    setup: (client) => logInOperator(client, params),
    steps: [{ name: 'ResetPassword', run: (client) => client.resetPassword({ UserName: nextUser() }) }],
  };
}
