// Pending reset codes on Redis: one live code per user, under the user's tag, holding only the code's SHA-256.
import { guarded } from './connection';
import { userKeys } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import { MAX_WRONG_TRIES } from '../../../core/ports/reset-store';
import type { CodeCheck, CodeUse } from '../../../core/ports/reset-store';

export class RedisResetCodes {
  private readonly scripts: Record<'issue' | 'use' | 'withdraw', ScriptCall>;

  constructor(redis: RedisClient) {
    this.scripts = {
      issue: script(redis, 'codes-issue-1keys.lua'),
      use: script(redis, 'codes-use-1keys.lua'),
      withdraw: script(redis, 'codes-withdraw-1keys.lua'),
    };
  }

  /**
   * Stores the code at `key`, then runs `queue` (the mail that carries it); when that fails, withdraws the code
   * again (if still live) and rethrows, so a failed request leaves no code behind. Only a crash between the two
   * can leave one: it then exists in no mail, nobody can use it, and it lapses with its TTL.
   */
  async issueWithMail(
    key: string,
    codeHash: string,
    ttlMs: number,
    queue: () => Promise<unknown>,
  ): Promise<void> {
    await this.issueRaw(key, codeHash, ttlMs);
    try {
      await queue();
    } catch (error) {
      await this.scripts.withdraw(key, codeHash).catch(() => undefined);
      throw error;
    }
  }

  /** Replaces the code at `key` (a user's, or a decoy's), unguarded: the callers guard their whole step. */
  issueRaw(key: string, codeHash: string, ttlMs: number): Promise<unknown> {
    return this.scripts.issue(key, codeHash, Math.max(1, Math.round(ttlMs)));
  }

  async checkCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeCheck> {
    return (await guarded(() =>
      this.scripts.use(userKeys(userId).resetCode, codeHash, maxWrongTries, '0', from),
    )) as CodeCheck;
  }

  async consumeCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeUse> {
    return (await guarded(() =>
      this.scripts.use(userKeys(userId).resetCode, codeHash, maxWrongTries, '1', from),
    )) as CodeUse;
  }
}
