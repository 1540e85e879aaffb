#!/usr/bin/env node
// The oms-gateway command: finds the command group its first word names and runs it (users, API keys, authreset
// API tokens against REDIS_URL; serve; load), and turns every refusal into a message and an exit status.
import { ConfigError } from '../config';
import { StoreUnavailableError } from '../../core/ports/store';
import { apiKeyCommand } from './api-keys';
import { CliError, HelpRequest, UsageError } from './command';
import type { CliCommand, CliIo } from './command';
import { loadCommand, serveCommand } from './serve';
import { storeCommand } from './store';
import { tokenCommand } from './tokens';
import { userCommand } from './users';

export type { CliIo } from './command';

/** Every command group, in the order the usage lists them. */
const COMMANDS: readonly CliCommand[] = [
  userCommand,
  apiKeyCommand,
  tokenCommand,
  storeCommand,
  serveCommand,
  loadCommand,
];

export const USAGE = `Usage: oms-gateway <command>

${COMMANDS.map((command) => command.usage).join('\n')}

The user, apikey, token and store commands work on the Redis that REDIS_URL, REDIS_CLUSTER_NODES or
REDIS_SENTINELS (with REDIS_PREFIX and the other REDIS_* settings) name, as the gateway does.
Each prints its result as one JSON line. Exit status: 0 done, 1 refused or failed, 2 bad usage.`;

/** The message and exit status of a failure. */
function failure(error: unknown): [message: string, code: 1 | 2] {
  if (error instanceof UsageError) return [`${error.message}\n\n${USAGE}`, 2];
  if (error instanceof CliError) return [error.message, error.exitCode];
  if (error instanceof ConfigError) return [error.message, 2];
  if (error instanceof StoreUnavailableError)
    return ['Redis does not answer (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS); is it running?', 1];
  return [`unexpected failure: ${error instanceof Error ? error.message : String(error)}`, 1];
}

/** Runs one command; resolves with the exit status. Never throws for a user's mistake. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...words] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      io.stdout.write(`${USAGE}\n`);
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (command === undefined) throw new UsageError(`unknown command: ${name}`);
    return (await command.run(words, io)) ?? 0;
  } catch (error) {
    if (error instanceof HelpRequest) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const [message, code] = failure(error);
    io.stderr.write(`oms-gateway: ${message}\n`);
    return code;
  }
}

if (require.main === module) {
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      // `serve` keeps the process alive through its server; the others end here
      if (process.argv[2] !== 'serve') process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`oms-gateway: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
