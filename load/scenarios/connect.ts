// Built-in scenario "connect": every connection connects, logs in (or resumes a session), holds for the run, closes.
import type { Scenario } from '../scenario';
import { loginFrom, timedClose, timedConnect } from './session-login';

/** Params: who logs in (load/scenarios/session-login.ts: users, password, count, first, or token). */
export function connectScenario(params: Readonly<Record<string, string>>): Scenario {
  const login = loginFrom(params);
  return {
    name: 'connect',
    description: 'connect, log in (or resume with token=), hold until the end of the run, close',
    steps: [],
    async session(link) {
      const client = await timedConnect(link);
      await login(client, link);
      await link.ended;
      await timedClose(link, client);
    },
  };
}
