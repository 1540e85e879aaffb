// The load CLI's arguments: defaults, bounds, and the refusal of targets off this machine.
import { PassThrough } from 'node:stream';
import { runCli } from '../../gateway/cli/main';
import { parseLoadArgs, UsageError } from '../../load/cli';
import { startGateway } from '../support/gateway';
import { checkTarget, isLoopbackHost, TargetError } from '../../load/target';

describe('load CLI arguments', () => {
  it('takes defaults for everything but the URL', () => {
    const options = parseLoadArgs(['--url', 'ws://127.0.0.1:8080/WSGateway']);
    expect(options.scenario).toBe('ping');
    expect(options.load).toMatchObject({
      connections: 1,
      inflight: 1,
      durationS: 10,
      rate: undefined,
      timeoutMs: 10_000,
    });
    expect(options.json).toBe(false);
  });

  it('reads every option, and --param pairs', () => {
    const options = parseLoadArgs([
      '--url=ws://localhost:1/',
      '--connections=50',
      '--inflight=10',
      '--duration=2.5',
      '--rate=1000',
      '--max-calls=99',
      '--scenario=mixed',
      '--param',
      'users=seed-users.json',
      '--json',
    ]);
    expect(options.load).toMatchObject({
      connections: 50,
      inflight: 10,
      durationS: 2.5,
      rate: 1000,
      maxCalls: 99,
      params: { users: 'seed-users.json' },
    });
    expect(options).toMatchObject({ scenario: 'mixed', json: true });
  });

  it('requires --url and bounds the numbers', () => {
    expect(() => parseLoadArgs([])).toThrow(UsageError);
    expect(() => parseLoadArgs(['--url', 'ws://127.0.0.1/', '--duration', '100000'])).toThrow(
      /--duration must be/,
    );
    expect(() => parseLoadArgs(['--url', 'ws://127.0.0.1/', '--connections', '0'])).toThrow(
      /--connections must be/,
    );
    expect(() => parseLoadArgs(['--url', 'ws://127.0.0.1/', '--inflight', '1.5'])).toThrow(
      /--inflight must be/,
    );
    expect(() => parseLoadArgs(['--url', 'ws://127.0.0.1/', '--nope'])).toThrow(UsageError);
  });

  it('refuses a target off this machine unless --allow-remote', () => {
    expect(() => parseLoadArgs(['--url', 'ws://gateway.example.com/'])).toThrow(TargetError);
    expect(parseLoadArgs(['--url', 'ws://gateway.example.com/', '--allow-remote']).load.url).toBe(
      'ws://gateway.example.com/',
    );
  });
});

describe('load targets', () => {
  it('counts localhost, 127.0.0.0/8 and ::1 as loopback, and nothing else', () => {
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '0.0.0.0', 'example.com', '127.0.0.1.example.com', '[::2]']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it('accepts only ws:// and wss:// URLs', () => {
    expect(() => checkTarget('http://127.0.0.1/', false)).toThrow(/ws:\/\//);
    expect(() => checkTarget('not a url', false)).toThrow(/Not a URL/);
    expect(checkTarget('wss://[::1]:8443/WSGateway', false).port).toBe('8443');
  });
});

describe('oms-gateway load', () => {
  function io() {
    const out = { stdout: '', stderr: '' };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
    return { out, io: { stdin: new PassThrough(), stdout, stderr, env: {} } };
  }

  it('runs the load CLI against a gateway and prints its JSON report', async () => {
    const gateway = await startGateway({ LOG_LEVEL: 'warn' });
    try {
      const { out, io: cliIo } = io();
      const code = await runCli(
        ['load', '--url', gateway.wsUrl, '--max-calls', '7', '--duration', '30', '--quiet', '--json'],
        cliIo,
      );
      expect(code).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ scenario: 'ping', totals: { calls: 7, errors: 0 } });
    } finally {
      await gateway.close();
    }
  });

  it('answers bad load options with the load usage and status 2', async () => {
    const { out, io: cliIo } = io();
    expect(await runCli(['load', '--connections', '2'], cliIo)).toBe(2);
    expect(out.stderr).toMatch(/--url is required[\s\S]*--scenario NAME\|FILE/);
  });
});
