// `oms-gateway store migrate`: copies a deployment's keys from the layout before the cluster hash tags to today's.
import type { Redis } from 'ioredis';
import { loadConfig } from '../config';
import { closeRedis, connectRedis, guarded } from '../stores/redis/connection';
import { migrateLayout } from '../stores/redis/migrate';
import { systemClock } from '../../core/ports/clock';
import { CliError, expectArgs, parseWords, printLine, UsageError } from './command';
import type { CliCommand } from './command';

export const storeCommand: CliCommand = {
  name: 'store',
  usage: `  store migrate             copies every key of the old single-node layout (REDIS_URL, REDIS_PREFIX) to its
                            new name and hash tag; run with the gateways stopped; safe to run again`,
  run: async (argv, io) => {
    const { positionals } = parseWords(argv, {});
    if (positionals[0] !== 'migrate') {
      throw new UsageError(`unknown store command: ${positionals[0] ?? '(none)'}`);
    }
    expectArgs('store', positionals, 0);
    const config = loadConfig(io.env, { role: 'admin' });
    if (config.redis === null)
      throw new CliError('no Redis is set (REDIS_URL): store migrate works on that Redis', 2);
    // the old layout only ever ran on one node: migrate there, then copy to a cluster (docs/operations.md)
    if (config.redis.topology.kind === 'cluster')
      throw new CliError(
        'store migrate works on the one node (REDIS_URL or REDIS_SENTINELS) that holds the old layout; migrate it there, then copy the keys to the cluster (docs/operations.md)',
        2,
      );
    // no key prefix on this connection: the migration reads the old names and writes the new ones in full
    const redis = connectRedis({ ...config.redis, prefix: '' }, 'oms-gateway-migrate') as Redis;
    try {
      const report = await guarded(() =>
        migrateLayout(redis, config.redis!.prefix, systemClock, config.mail.queueShards),
      );
      printLine(io, report);
    } finally {
      await closeRedis(redis);
    }
  },
};
