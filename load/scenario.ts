// What a load scenario is (log in once per connection, then a weighted mix of steps) and how one is found by name or file.
import { resolve } from 'node:path';
import type { ConnectOptions, OmsClient } from '../client/node';

/** What a step or setup knows about where it runs. */
export interface ScenarioContext {
  /** 0 … connections - 1 */
  readonly connectionIndex: number;
  readonly connections: number;
  /** the WebSocket URL of this connection (`--url`, round robin over several) */
  readonly url: string;
  /** `--param key=value` pairs from the command line. */
  readonly params: Readonly<Record<string, string>>;
  /** State a scenario keeps per connection (a session, a user name), set up in `setup`. */
  readonly state: Record<string, unknown>;
}

/** One unit of load: usually one call, named after the function, so the report has a row per function. */
export interface ScenarioStep {
  readonly name: string;
  /** relative frequency in the mix, default 1 */
  readonly weight?: number;
  /** Resolves when the step succeeded; a rejection counts as an error (OmsCallError by its errorcode or kind). */
  run(client: OmsClient, context: ScenarioContext): Promise<unknown>;
}

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  /** Runs once before any connection opens (e.g. start a mail sink); a failure ends the run before it starts. */
  start?(): Promise<void>;
  /** Runs once per connection before load starts (log in); a failure counts the connection as failed. */
  setup?(client: OmsClient, context: ScenarioContext): Promise<void>;
  /** Runs once after every connection closed, also after a failed run: release what `start` opened. */
  stop?(): Promise<void>;
  readonly steps: readonly ScenarioStep[];
  /**
   * A scenario about the connections themselves (connect, log in, hold, drop, reconnect): runs once per
   * connection while measuring, instead of `steps` on connections opened beforehand. `steps` is then empty.
   */
  session?(link: SessionLink): Promise<void>;
  /** at most this many worker threads (a mail sink or a user rotation shared by the run), default no bound */
  readonly maxWorkers?: number;
}

/** What a session scenario can do with its connection. Times are performance.now() milliseconds. */
export interface SessionLink {
  readonly context: ScenarioContext;
  /** Opens a client to the connection's URL from its source address; at most `connectConcurrency` at once. */
  connect(options?: ConnectOptions): Promise<OmsClient>;
  /** Opens at once, without waiting for a turn (a storm reconnects everything together). */
  connectNow(options?: ConnectOptions): Promise<OmsClient>;
  /** Records one measured event, as a step row: its latency from `startedAt`, and its error if it failed. */
  record(name: string, startedAt: number, error?: unknown): void;
  /** Resolves `seconds` after measuring started (at once if that is past). */
  at(seconds: number): Promise<void>;
  /** Resolves when the measured duration is over. */
  readonly ended: Promise<void>;
  now(): number;
}

/** A scenario module exports a Scenario (default or `scenario`), or a function of the params returning one. */
export type ScenarioExport = Scenario | ((params: Readonly<Record<string, string>>) => Scenario);

/** Identity, for typing scenario files. */
export function defineScenario(scenario: Scenario): Scenario {
  return scenario;
}

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Returns a picker of steps by weight; one random number per pick. */
export function weightedPicker(
  steps: readonly ScenarioStep[],
  random: () => number = Math.random,
): () => ScenarioStep {
  if (steps.length === 0) throw new ScenarioError('A scenario needs at least one step');
  const cumulative: number[] = [];
  let total = 0;
  for (const step of steps) {
    const weight = step.weight ?? 1;
    if (!(weight >= 0) || !Number.isFinite(weight))
      throw new ScenarioError(`Step ${step.name}: weight must be ≥ 0`);
    total += weight;
    cumulative.push(total);
  }
  if (total === 0) throw new ScenarioError('The weights of the steps add up to 0');
  if (steps.length === 1) return () => steps[0]!;
  return () => {
    const point = random() * total;
    const index = cumulative.findIndex((bound) => point < bound);
    return steps[index === -1 ? steps.length - 1 : index]!;
  };
}

function isScenario(value: unknown): value is Scenario {
  const candidate = value as Partial<Scenario> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    Array.isArray(candidate.steps) &&
    (candidate.steps.length > 0 || typeof candidate.session === 'function') &&
    candidate.steps.every(
      (step: Partial<ScenarioStep>) => typeof step.name === 'string' && typeof step.run === 'function',
    )
  );
}

/** Turns a module's exports into a scenario, or says what is wrong with them. */
export function scenarioFromModule(
  exported: unknown,
  params: Readonly<Record<string, string>>,
  source: string,
): Scenario {
  const record = exported as { default?: unknown; scenario?: unknown } | null;
  const candidate = record?.default ?? record?.scenario ?? exported;
  const scenario =
    typeof candidate === 'function' ? (candidate as (p: typeof params) => unknown)(params) : candidate;
  if (!isScenario(scenario)) {
    throw new ScenarioError(
      `${source} does not export a scenario: expected { name, steps: [{ name, run }] } as default or "scenario"`,
    );
  }
  return scenario;
}

/**
 * A built-in by name, or a .js module by path (compiled TypeScript works; a .ts file needs a loader such as
 * `node --require ts-node/register`).
 */
export function loadScenario(
  nameOrPath: string,
  builtIns: Readonly<Record<string, ScenarioExport>>,
  params: Readonly<Record<string, string>> = {},
): Scenario {
  const builtIn = builtIns[nameOrPath];
  if (builtIn !== undefined) return scenarioFromModule(builtIn, params, `built-in scenario ${nameOrPath}`);
  if (!/[/\\]|\.[cm]?[jt]s$/.test(nameOrPath)) {
    throw new ScenarioError(
      `Unknown scenario "${nameOrPath}"; built-ins: ${Object.keys(builtIns).join(', ')}`,
    );
  }
  const path = resolve(nameOrPath);
  let exported: unknown;
  try {
    // a scenario file is code the operator chose to run, like a test file; require (not import()) so that
    // CommonJS scenario files load the same under jest and node
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(path) as unknown;
  } catch (error) {
    throw new ScenarioError(
      `Cannot load scenario ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return scenarioFromModule(exported, params, path);
}
