// The process's open-files limit, and how many client connections it leaves once FD_RESERVE is kept free: one
// socket is one file, and at the limit the kernel's accept fails (libuv then accepts and resets silently).
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { DropArgument, Server as NetServer } from 'node:net';
import type { Logger } from '../logger';

/**
 * The soft "Max open files" of this process (what `ulimit -n` shows), read from /proc/self/limits; null where
 * there is no /proc (macOS, Windows) or the limit is unlimited. Node has no API for getrlimit.
 */
export function openFilesLimit(limitsFile = '/proc/self/limits'): number | null {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return null;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined || !/^\d+$/.test(soft)) return null;
  return Number(soft);
}

/** Files this process has open now (/proc/self/fd, less the one listing it); null without /proc. */
export function openFileCount(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

export interface FileBudget {
  /** the soft open-files limit; null: unknown, and nothing is bounded by it */
  readonly limit: number | null;
  /** files open when the budget was taken (listeners, Redis, the log, Node's own) */
  readonly openAtStart: number;
  /** TCP connections on the main port (WebSocket or HTTP) past which upgrades get 503; Infinity: unknown limit */
  readonly connections: number;
}

/**
 * What the limit leaves for client connections: the limit less FD_RESERVE less what is open at start-up. The
 * reserve is what /metrics, a Redis reconnect, the log and the 503s themselves use once connections hit it.
 */
export function fileBudget(reserve: number, limit = openFilesLimit(), open = openFileCount()): FileBudget {
  if (limit === null || open === null) return { limit: null, openAtStart: open ?? 0, connections: Infinity };
  return { limit, openAtStart: open, connections: Math.max(0, limit - reserve - open) };
}

export interface FileGuard {
  /** whether a new upgrade would eat into the reserve: refuse it with 503 */
  exhausted(): boolean;
}

/**
 * Counts the main port's TCP connections against the budget, taken now (call once the listeners are open), and
 * logs the limit; warns when MAX_CONNECTIONS does not fit in it. Past the budget upgrades are refused with 503 by
 * the caller; past the budget plus half the reserve (a flood of refused connections still takes a file each
 * while its 503 is written) Node closes new connections at once, and `onDropped` counts and logs each one.
 */
export function guardFileBudget(
  server: Server,
  settings: { readonly reserve: number; readonly maxConnections: number },
  logger: Logger,
  onDropped: (peer: string | undefined) => void,
): FileGuard {
  const budget = fileBudget(settings.reserve);
  let open = 0;
  // one listener for every socket ('close' fires once): a once() wrapper per socket would cost ~150 bytes each
  const closed = (): void => void open--;
  server.on('connection', (socket) => {
    open++;
    socket.on('close', closed);
  });
  const fields = {
    openFilesLimit: budget.limit,
    openFiles: budget.openAtStart,
    fdReserve: settings.reserve,
    maxConnections: settings.maxConnections,
  };
  if (budget.limit === null) {
    logger.info(
      fields,
      'open-files limit unknown (no /proc): connections are bounded by MAX_CONNECTIONS only',
    );
    return { exhausted: () => false };
  }
  server.maxConnections = budget.connections + Math.ceil(settings.reserve / 2);
  // http.Server's typings lack net.Server's 'drop'
  (server as NetServer).on('drop', (data?: DropArgument) => onDropped(data?.remoteAddress));
  if (settings.maxConnections > budget.connections) {
    logger.warn(
      { ...fields, connectionBudget: budget.connections },
      'MAX_CONNECTIONS is above what the open-files limit leaves (limit less FD_RESERVE less the files open now): past connectionBudget, upgrades get 503 (reason file_limit); raise the limit (LimitNOFILE, ulimits nofile, --ulimit nofile=) or lower MAX_CONNECTIONS',
    );
  } else {
    logger.info({ ...fields, connectionBudget: budget.connections }, 'open-files limit');
  }
  return { exhausted: () => open > budget.connections };
}
