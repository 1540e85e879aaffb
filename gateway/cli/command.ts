// What every oms-gateway command is made of: its definition, its IO, its refusals, and the parsing of its words.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import type { Env } from '../config';

export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Env;
}

/** One command group: `oms-gateway <name> …`. */
export interface CliCommand {
  /** the first word */
  readonly name: string;
  /** its lines of the usage text, indented as the others */
  readonly usage: string;
  /** Runs on the words after the name; resolves with the exit status (nothing: 0). */
  run(argv: readonly string[], io: CliIo): Promise<number | void>;
}

/** A refusal the CLI reports as `oms-gateway: <message>` with its exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad usage: reported with the usage text, exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** `--help` given to a command: the usage text on stdout, exit 0. */
export class HelpRequest extends Error {
  constructor() {
    super('help');
    this.name = 'HelpRequest';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** The parse of a command's words with options `T`. */
export type Words<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; strict: true; options: T & typeof HELP }>
>;

/** A command's words, with its own options (and --help, which stops it with the usage); strict. */
export function parseWords<const T extends Options>(argv: readonly string[], options: T): Words<T> {
  let parsed: Words<T>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { ...options, ...HELP },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if ((parsed.values as { help?: boolean }).help === true) throw new HelpRequest();
  return parsed;
}

/** `value` checked by `schema`; a missing one is bad usage, a bad one names `what` and the rule. */
export function check<T>(schema: z.ZodType<T>, value: string | undefined, what: string): T {
  if (value === undefined) throw new UsageError(`missing ${what}`);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CliError(`bad ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 2);
  return parsed.data;
}

/** Asserts exactly `count` arguments after the words `command action`. */
export function expectArgs(command: string, positionals: readonly string[], count: number): void {
  if (positionals.length !== count + 1)
    throw new UsageError(
      `expected ${count} argument(s) after "${[command, ...positionals.slice(0, 1)].join(' ')}"`,
    );
}

/** Prints one JSON line. */
export function printLine(io: CliIo, line: object): void {
  io.stdout.write(`${JSON.stringify(line)}\n`);
}
