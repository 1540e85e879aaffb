// The built-in scenarios by the names `--scenario` accepts.
import type { ScenarioExport } from '../scenario';
import { mixedScenario } from './mixed';
import { pingScenario } from './ping';

export const builtInScenarios: Readonly<Record<string, ScenarioExport>> = {
  ping: pingScenario,
  mixed: mixedScenario,
};
