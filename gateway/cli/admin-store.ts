// The store the admin commands (user, apikey, token) work on: the Redis that REDIS_URL names, opened per command.
import { z } from 'zod';
import { loadConfig } from '../config';
import type { Config } from '../config';
import { createLogger } from '../logger';
import { createRedisStore } from '../stores/redis/redis-store';
import type { Store, UserRecord } from '../../core/ports/store';
import { check, CliError } from './command';
import type { CliIo } from './command';

export interface Admin {
  readonly store: Store;
  readonly config: Config;
}

/** Runs `work` on the store REDIS_URL names, and closes it after, whatever happened. */
export async function withStore<T>(io: CliIo, work: (admin: Admin) => Promise<T>): Promise<T> {
  // production's other needs (a mailer, the reset page) are the serving gateway's, not the admin's
  const config = loadConfig(io.env, { role: 'admin' });
  if (config.redis === null) {
    throw new CliError(
      'no Redis is set: the user commands work on the shared Redis store (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS)',
      2,
    );
  }
  // the store's own logs (connection lost, …) would interleave with the JSON lines: failures come back as errors
  const store = createRedisStore(config.redis, createLogger('silent'));
  try {
    return await work({ store, config });
  } finally {
    await store.close();
  }
}

// user names: no spaces or control characters, so they survive shells, logs and e-mails intact
export const UserNameSchema = z
  .string()
  .regex(/^[^\s\p{C}]{1,128}$/u, 'a user name is 1 to 128 characters, no spaces');

/** The user named `userName` (checked first), or a refusal naming it. */
export async function requireUser(store: Store, userName: string | undefined): Promise<UserRecord> {
  const name = check(UserNameSchema, userName, 'user name');
  const user = await store.users.findByName(name);
  if (!user) throw new CliError(`no user named ${name}`, 1);
  return user;
}
