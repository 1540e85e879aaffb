// Scenarios: weighted picking, the built-ins by name, and modules loaded from a file path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, ScenarioError, weightedPicker } from '../../load/scenario';
import type { ScenarioStep } from '../../load/scenario';
import { builtInScenarios } from '../../load/scenarios';

const step = (name: string, weight?: number): ScenarioStep => ({
  name,
  weight,
  run: () => Promise.resolve(),
});

describe('scenarios', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'oms-scenario-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks steps in proportion to their weights', () => {
    const randoms = [0, 0.49, 0.5, 0.99];
    const pick = weightedPicker([step('a', 1), step('b', 1)], () => randoms.shift()!);
    expect([pick(), pick(), pick(), pick()].map((s) => s.name)).toEqual(['a', 'a', 'b', 'b']);
    const skewed = weightedPicker([step('zero', 0), step('one')], () => 0);
    expect(skewed().name).toBe('one');
  });

  it('refuses a scenario without steps or with bad weights', () => {
    expect(() => weightedPicker([])).toThrow(ScenarioError);
    expect(() => weightedPicker([step('a', -1)])).toThrow(/weight/);
    expect(() => weightedPicker([step('a', 0)])).toThrow(/add up to 0/);
  });

  it('finds the built-ins by name and names them when the name is unknown', () => {
    expect(loadScenario('ping', builtInScenarios).name).toBe('ping');
    expect(loadScenario('mixed', builtInScenarios).steps.length).toBeGreaterThan(1);
    expect(() => loadScenario('nope', builtInScenarios)).toThrow(/built-ins: ping, mixed/);
  });

  it('loads a .js module by path, a factory of the params included', () => {
    const file = join(dir, 'custom.js');
    writeFileSync(
      file,
      `module.exports = (params) => ({ name: 'custom-' + params.flavour, steps: [{ name: 'Ping', run: (c) => c.ping() }] });\n`,
    );
    expect(loadScenario(file, builtInScenarios, { flavour: 'vanilla' }).name).toBe('custom-vanilla');
  });

  it('says what is wrong with a module that is not a scenario', () => {
    const file = join(dir, 'broken.js');
    writeFileSync(file, `exports.scenario = { name: 'broken' };\n`);
    expect(() => loadScenario(file, builtInScenarios)).toThrow(/does not export a scenario/);
    expect(() => loadScenario(join(dir, 'missing.js'), builtInScenarios)).toThrow(/Cannot load scenario/);
  });
});
