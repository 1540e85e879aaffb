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
});
