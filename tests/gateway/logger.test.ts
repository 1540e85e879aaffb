// Log redaction: secret-named keys are replaced at any depth, case-insensitively.
import { captureLogs } from '../support/logs';
import { REDACTED, redactSecrets } from '../../gateway/logger';

describe('redactSecrets', () => {
  it('replaces secret-named values at any depth and in arrays, whatever the key case', () => {
    const input = {
      user: 'alice',
      nested: { deeper: [{ password: 'p1', PendingCode: 'c1' }], SessionToken: 't1' },
      apiKey: 'k1',
    };
    expect(redactSecrets(input)).toEqual({
      user: 'alice',
      nested: { deeper: [{ password: REDACTED, PendingCode: REDACTED }], SessionToken: REDACTED },
      apiKey: REDACTED,
    });
  });

  it('survives cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(redactSecrets(cyclic)).toEqual({ a: 1, self: '[cycle]' });
  });
});

describe('createLogger', () => {
  it('writes JSON lines with the secrets of merged objects replaced', () => {
    const logs = captureLogs('info');
    logs.logger.info({ request: { Password: 'hunter2', UserName: 'bob' } }, 'hello');
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).not.toContain('hunter2');
    expect(logs.entries()[0]).toMatchObject({ level: 'info', msg: 'hello', request: { UserName: 'bob' } });
  });

  it('logs a Redis error with the name of the command that failed, never its arguments (a password after WRONGPASS)', () => {
    const logs = captureLogs('info');
    // how ioredis reports a refused login: the ReplyError carries the HELLO command with the user and password
    const refused = Object.assign(
      new Error('WRONGPASS invalid username-password pair or user is disabled.'),
      {
        command: { name: 'hello', args: ['3', 'AUTH', 'oms-gateway', 'pw-4ac1d'] },
      },
    );
    const wrapped = Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: refused });
    logs.logger.error({ err: refused }, 'redis connection lost');
    logs.logger.error({ err: wrapped }, 'cluster down');
    expect(logs.lines.join('\n')).not.toContain('pw-4ac1d');
    expect(logs.entries()[0]!.err).toMatchObject({
      message: expect.stringContaining('WRONGPASS'),
      command: 'hello',
    });
    expect(logs.entries()[1]!.err).toMatchObject({ lastNodeError: { command: 'hello' } });
  });
});
