// Built-in scenario "ping": Ping only, the cost of the gateway's path itself (frame, dispatch, reply).
import { defineScenario } from '../scenario';

export const pingScenario = defineScenario({
  name: 'ping',
  description: 'Ping only: the gateway path without a store or a login',
  steps: [{ name: 'Ping', run: (client) => client.ping() }],
});
