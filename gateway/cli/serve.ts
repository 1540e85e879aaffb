// `oms-gateway serve` (the gateway process itself) and `oms-gateway load` (the load generator, a client of one).
import { parseWords } from './command';
import type { CliCommand } from './command';

export const serveCommand: CliCommand = {
  name: 'serve',
  usage: `  serve [--dev]             starts the gateway; --dev: development mode (demo users, dev outbox, loopback
                            HOST only), as OMS_DEV=1 and npm start`,
  run: async (argv) => {
    parseWords(argv, { dev: { type: 'boolean' } });
    // the gateway process itself: it reads the environment (and --dev from argv), listens, and exits on
    // SIGTERM/SIGINT; required here so the other commands never load it
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../main');
    return Promise.resolve(0);
  },
};

export const loadCommand: CliCommand = {
  name: 'load',
  usage: `  load --url ws://… [options] load-tests a gateway (same as npm run load; --help lists the options)`,
  // its own options and usage (load/cli.ts); required here so `serve` and the admin commands never load it
  run: (argv, io) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('../../load/cli') as typeof import('../../load/cli');
    return load.main(argv, io);
  },
};
