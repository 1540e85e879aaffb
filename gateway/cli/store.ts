// `oms-gateway store migrate`: copies a deployment's keys from the layout before the cluster hash tags to today's.
import { loadConfig } from '../config';
import { connectRedis, guarded } from '../stores/redis/connection';
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
      throw new CliError('REDIS_URL is not set: store migrate works on that Redis', 2);
    // no key prefix on this connection: the migration reads the old names and writes the new ones in full
    const redis = connectRedis({ ...config.redis, prefix: '' }, 'oms-gateway-migrate');
    try {
      const report = await guarded(() =>
        migrateLayout(redis, config.redis!.prefix, systemClock, config.mail.queueShards),
      );
      printLine(io, report);
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }
  },
};
