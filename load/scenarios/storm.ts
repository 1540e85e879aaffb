// Built-in scenario "storm": every socket logs in; at --param at=S all drop at once, reconnect and resume.
import type { OmsClient } from '../../client/node';
import { ScenarioError } from '../scenario';
import type { Scenario } from '../scenario';
import { loginFrom, resume, timedClose, timedConnect } from './session-login';

/**
 * The reconnect storm after a deploy, from the clients' side: every socket drops at the same moment and at once
 * opens a new one and resumes its SessionToken, with no backoff. The row `back` is the time from the drop until
 * the session was resumed, so its p50, p99 and max are the times until 50%, 99% and 100% were back; its errors
 * are the reconnects or resumes that failed. Params: `at` (seconds into the run, default 1) and who logs in
 * (load/scenarios/session-login.ts). Give --duration a margin past `at` for the reconnects to finish.
 */
export function stormScenario(params: Readonly<Record<string, string>>): Scenario {
  const login = loginFrom(params);
  const atS = Number(params.at ?? 1);
  if (!(atS >= 0) || !Number.isFinite(atS)) throw new ScenarioError('--param at must be seconds ≥ 0');
  return {
    name: 'storm',
    description: `log in, drop every socket at ${atS} s, reconnect and resume at once (row "back": drop → resumed)`,
    steps: [],
    async session(link) {
      let client: OmsClient = await timedConnect(link);
      const token = await login(client, link);
      await link.at(atS);
      const droppedAt = link.now();
      // drop without waiting for a close handshake: the new socket goes out in the same tick
      void client.close();
      try {
        client = await link.connectNow();
      } catch (error) {
        link.record('back', droppedAt, error);
        throw error;
      }
      await resume(client, link, token, 'back', droppedAt);
      await link.ended;
      await timedClose(link, client);
    },
  };
}
