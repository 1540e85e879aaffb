// Captures a gateway's JSON log lines in memory, so tests can wait for a line and assert what was (not) logged.
import { Writable } from 'node:stream';
import { createLogger } from '../../gateway/logger';
import type { Logger } from '../../gateway/logger';

export interface LogCapture {
  readonly logger: Logger;
  /** Every line written so far, raw. */
  readonly lines: string[];
  /** Parsed lines. */
  entries(): Record<string, unknown>[];
  /** Resolves with the first line (already written or still to come) that matches. */
  waitFor(match: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export function captureLogs(level = 'debug'): LogCapture {
  const lines: string[] = [];
  const waiters: {
    match: (entry: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        const entry = JSON.parse(line) as Record<string, unknown>;
        for (const waiter of [...waiters]) {
          if (waiter.match(entry)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(entry);
          }
        }
      }
      callback();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    waitFor: (match) => {
      const found = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
