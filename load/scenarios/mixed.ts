// Built-in scenario "mixed": mostly Ping plus the requests clients get wrong, which must keep answering fast.
import { OmsCallError } from '../../client/node';
import type { OmsClient } from '../../client/node';
import { defineScenario } from '../scenario';

/** A step that succeeds when the gateway answers with the documented error code, and fails otherwise. */
async function expectErrorcode(call: Promise<unknown>, errorcode: number): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (error instanceof OmsCallError && error.errorcode === errorcode) return;
    throw error;
  }
  throw new OmsCallError('protocol', 'mixed', { detail: `expected errorcode ${errorcode}, got a success` });
}

export const mixedScenario = defineScenario({
  name: 'mixed',
  description:
    'Ping 90%, a payload that is not an object 5% (expects 100), an unknown function 5% (expects 106)',
  steps: [
    { name: 'Ping', weight: 90, run: (client: OmsClient) => client.ping() },
    {
      name: 'Ping (bad payload → 100)',
      weight: 5,
      run: (client) => expectErrorcode(client.call('Ping', [1]), 100),
    },
    {
      name: 'Unknown (→ 106)',
      weight: 5,
      run: (client) => expectErrorcode(client.call('NoSuchFunction', {}), 106),
    },
  ],
});
