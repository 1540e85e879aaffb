// `npm run load -- --url ws://… --connections C --inflight K --duration S [--rate R] --scenario NAME|FILE`.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { formatHtmlReport } from './html';
import { runParallel } from './parallel';
import type { ParallelOptions } from './parallel';
import { formatProgress, formatReport } from './report';
import { LIMITS } from './runner';
import { loadScenario, ScenarioError } from './scenario';
import { builtInScenarios } from './scenarios';
import { checkTarget, sourceAddressesFor, TargetError } from './target';

export const USAGE = `Usage: npm run load -- --url ws://127.0.0.1:8080/WSGateway [options]

  --url URL             the gateway's WebSocket URL (loopback only unless --allow-remote); repeatable:
                        connections go to the URLs round robin
  --urls-file FILE      more URLs, one a line (# comments and blank lines skipped)
  --source-address IP   open sockets from this local address (repeatable, round robin); default none, or
                        127.0.0.2, 127.0.0.3, … (25,000 sockets each) past 25,000 sockets to loopback
  --workers N           worker threads that run the sockets, default the cores (${availableParallelism()});
                        1 runs in this thread
  --html FILE           also write a self-contained HTML page with the run's charts and the table
  --scenario NAME|FILE  built-in (${Object.keys(builtInScenarios).join(', ')}) or a .js module path, default ping
  --connections C       sockets, default 1 (at most ${LIMITS.maxConnections})
  --inflight K          calls in flight per socket, default 1 (at most ${LIMITS.maxInflight})
  --duration S          measured seconds, default 10 (at most ${LIMITS.maxDurationS})
  --rate R              open loop: R calls/s over all sockets, latency from the scheduled time; default closed loop
  --max-calls N         stop after N measured calls
  --warmup S            seconds of unmeasured load first, default 0
  --timeout MS          per-call timeout, default 10000
  --param KEY=VALUE     passed to the scenario (repeatable)
                        reset-request, reset-complete: operator=NAME operatorPassword=PW (default the demo
                        operator), users=a,b or users=load-user-{n} count=N first=1; reset-complete also
                        sink=PORT (a SendGrid sink on 127.0.0.1:PORT) or outbox=URL, mailTimeoutMs=10000
                        connect, storm: users=a,b or users=load-user-{n} count=N with password=PW (default the
                        demo trader1), or token=SESSIONTOKEN; storm also at=S (drop all sockets at S s, default 1)
  --json                print one JSON line at the end instead of the table
  --quiet               no progress lines
  --allow-remote        allow a target that is not this machine
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliOptions {
  readonly load: Omit<ParallelOptions, 'scenario' | 'onProgress'>;
  readonly scenario: string;
  readonly html: string | null;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

function number(
  values: Record<string, unknown>,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
  integer = true,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

/** Parses and bounds the arguments; throws UsageError naming the bad one. */
export function parseLoadArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        url: { type: 'string', multiple: true },
        'urls-file': { type: 'string' },
        'source-address': { type: 'string', multiple: true },
        workers: { type: 'string' },
        html: { type: 'string' },
        scenario: { type: 'string', default: 'ping' },
        connections: { type: 'string' },
        inflight: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        'max-calls': { type: 'string' },
        warmup: { type: 'string' },
        timeout: { type: 'string' },
        param: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        'allow-remote': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values;
  if (values.help) {
    return {
      load: { url: '', connections: 1, inflight: 1, durationS: 0, workers: 1 },
      scenario: '',
      html: null,
      json: false,
      quiet: false,
      help: true,
    };
  }
  const urls = [...(values.url ?? []), ...urlsFromFile(values['urls-file'])];
  if (urls.length === 0) throw new UsageError('--url is required (or --urls-file)');
  for (const url of urls) checkTarget(url, values['allow-remote']);
  for (const address of values['source-address'] ?? []) {
    if (isIP(address) === 0) throw new UsageError(`--source-address must be an IP address, got "${address}"`);
  }
  const params: Record<string, string> = {};
  for (const pair of values.param ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--param must be KEY=VALUE, got "${pair}"`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const connections = number(values, 'connections', 1, 1, LIMITS.maxConnections)!;
  return {
    load: {
      url: urls[0]!,
      urls,
      sourceAddresses: sourceAddressesFor(connections, urls, values['source-address'] ?? []),
      workers: number(values, 'workers', availableParallelism(), 1, 256)!,
      connections,
      inflight: number(values, 'inflight', 1, 1, LIMITS.maxInflight)!,
      durationS: number(values, 'duration', 10, 0.1, LIMITS.maxDurationS, false)!,
      rate: number(values, 'rate', undefined, 0.1, LIMITS.maxRate, false),
      maxCalls: number(values, 'max-calls', undefined, 1, LIMITS.maxCalls),
      warmupS: number(values, 'warmup', 0, 0, LIMITS.maxDurationS, false),
      timeoutMs: number(values, 'timeout', 10_000, 1, 600_000),
      params,
    },
    scenario: values.scenario,
    html: values.html ?? null,
    json: values.json,
    quiet: values.quiet,
    help: false,
  };
}

/** The URLs of a --urls-file: one a line, blank lines and # comments skipped. */
function urlsFromFile(file: string | undefined): string[] {
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--urls-file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const urls = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (urls.length === 0) throw new UsageError(`--urls-file ${file} lists no URL`);
  return urls;
}

/** Where the load CLI writes: the table or JSON to stdout, usage, errors and progress to stderr. */
export interface LoadCliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** `npm run load` and `oms-gateway load`: resolves with the exit status (0 done, 1 no connection, 2 bad usage). */
export async function main(argv: readonly string[], io: LoadCliIo = process): Promise<number> {
  let options: CliOptions;
  try {
    options = parseLoadArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof TargetError)) throw error;
    io.stderr.write(`oms-gateway load: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    loadScenario(options.scenario, builtInScenarios, options.load.params);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    io.stderr.write(`oms-gateway load: ${error.message}\n`);
    return 2;
  }
  const report = await runParallel({
    ...options.load,
    scenario: options.scenario,
    onProgress: options.quiet ? undefined : (progress) => io.stderr.write(`${formatProgress(progress)}\n`),
  });
  if (options.html !== null) writeFileSync(options.html, formatHtmlReport(report));
  io.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  return report.connects.ok === 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(
        `oms-gateway load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
