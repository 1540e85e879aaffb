// /proc sampling: the CPU time and resident memory of a process (or one of its threads), read by the bench.
import { readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux the gateway runs on (getconf CLK_TCK) */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used, from /proc/<pid>/stat, in microseconds; with `thread`, that one
 * thread's (/proc/<pid>/task/<tid>/stat; the main thread's tid is the pid).
 */
export function cpuMicros(pid: number, thread?: number): number {
  // the fields after the command name (which may hold spaces, hence the last ')'); utime and stime are 14 and 15
  const stat = readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  );
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / CLOCK_TICKS_PER_SECOND) * 1e6;
}

/** Resident memory of a process, from /proc/<pid>/status (VmRSS, in kB). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}
