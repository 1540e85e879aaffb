// The built-in scenarios by the names `--scenario` accepts.
import type { ScenarioExport } from '../scenario';
import { connectScenario } from './connect';
import { mixedScenario } from './mixed';
import { pingScenario } from './ping';
import { resetCompleteScenario } from './reset-complete';
import { resetRequestScenario } from './reset-request';
import { stormScenario } from './storm';

export const builtInScenarios: Readonly<Record<string, ScenarioExport>> = {
  ping: pingScenario,
  mixed: mixedScenario,
  'reset-request': resetRequestScenario,
  'reset-complete': resetCompleteScenario,
  connect: connectScenario,
  storm: stormScenario,
};
