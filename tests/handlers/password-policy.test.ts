// The new-password rules: each refusal with its reason, and what passes.
import { passwordProblem } from '../../core/password-policy';

const user = { userName: 'Alice.Trader', email: 'alice@example.com' };
const policy = { minLength: 8 };

describe('passwordProblem', () => {
  it('accepts a long uncommon password with no composition rules', () => {
    expect(passwordProblem('correct horse battery staple', user, policy)).toBeNull();
    expect(passwordProblem('lowercaseonlybutlong', user, policy)).toBeNull();
  });

  it('counts characters after NFKC normalisation, as code points', () => {
    expect(passwordProblem('ｆｕｌｌｗｉｄｔｈ', user, policy)).toBeNull(); // 9 full-width letters → 9 ASCII letters
    expect(passwordProblem('🔑🔑🔑🔑🔑🔑🔑', user, policy)).toMatch(/at least 8/); // 7 code points, 14 UTF-16 units
  });

  it('refuses a password shorter than the configured minimum', () => {
    expect(passwordProblem('x9!kq2', user, policy)).toBe('Password must be at least 8 characters long');
    expect(passwordProblem('x9!kq2mz', user, { minLength: 12 })).toBe(
      'Password must be at least 12 characters long',
    );
  });

  it('refuses a password over 128 characters', () => {
    expect(passwordProblem('a'.repeat(129), user, policy)).toBe(
      'Password must be at most 128 characters long',
    );
  });

  it('refuses the user name or e-mail, alone or inside, in any case', () => {
    expect(passwordProblem('alice.trader', user, policy)).toMatch(/user name or e-mail/);
    expect(passwordProblem('xxALICE.TRADERxx', user, policy)).toMatch(/user name or e-mail/);
    expect(passwordProblem('Alice@Example.com!', user, policy)).toMatch(/user name or e-mail/);
  });

  it('refuses common passwords whatever their case', () => {
    expect(passwordProblem('password1', user, policy)).toBe(
      'Password is too common; choose a less predictable one',
    );
    expect(passwordProblem('QWERTYUIOP', user, policy)).toMatch(/too common/);
  });

  it('never includes the password in its reason', () => {
    for (const password of ['short', 'Alice.Trader-x', 'password1', 'b'.repeat(200)]) {
      expect(passwordProblem(password, user, policy)).not.toContain(password);
    }
  });
});
