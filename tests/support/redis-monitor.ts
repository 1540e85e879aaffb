// MONITOR on a raw connection of its own, for tests that count what the gateway sends to Redis. Not ioredis's
// monitor(): it switches to monitoring mode a microtask after MONITOR's +OK, so a line that arrives in the same
// TCP chunk (another test file's command on the shared server) hits an empty command queue and is thrown as
// "Command queue state error" (seen in CI).
import { connect } from 'node:net';

/** One command Redis ran: its arguments, and who sent it ("127.0.0.1:PORT", or "lua" inside a script). */
export interface MonitoredCommand {
  readonly args: readonly string[];
  readonly source: string;
}

export interface RedisMonitor {
  close(): void;
}

/** Starts MONITOR on `url` (redis://host:port, no auth) and resolves once Redis has confirmed it. */
export function monitorRedis(
  url: string,
  onCommand: (command: MonitoredCommand) => void,
): Promise<RedisMonitor> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let buffered = '';
  let confirmed = false;
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!confirmed) {
          if (line !== '+OK') return reject(new Error(`MONITOR refused: ${line}`));
          confirmed = true;
          resolve({ close: () => socket.destroy() });
          continue;
        }
        const command = parseMonitorLine(line);
        if (command) onCommand(command);
      }
    });
  });
}

/** `+1796246070.031613 [0 127.0.0.1:54690] "evalsha" "8e5a…" "3"`: the source, then the quoted arguments. */
export function parseMonitorLine(line: string): MonitoredCommand | null {
  const header = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!header) return null;
  const args: string[] = [];
  let at = header[0].length;
  while (at < line.length) {
    if (line[at] === ' ') {
      at++;
      continue;
    }
    // Redis writes each argument as sdscatrepr does: "…" with \\ \" \n \r \t \a \b and \xHH escapes
    let arg = '';
    at++; // the opening quote
    while (at < line.length && line[at] !== '"') {
      if (line[at] !== '\\') {
        arg += line[at++];
        continue;
      }
      const escaped = line[at + 1];
      if (escaped === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(at + 2, at + 4), 16));
        at += 4;
        continue;
      }
      arg +=
        ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[escaped!] ?? escaped;
      at += 2;
    }
    at++; // the closing quote
    args.push(arg);
  }
  return { args, source: header[1]! };
}
