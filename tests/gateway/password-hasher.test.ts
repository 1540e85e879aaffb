// The argon2id hasher: explicit parameters in every hash, verification, the dummy check, and the bound on hashes in flight.
import { createPasswordHasher } from '../../gateway/password-hasher';

const DEFAULTS = { memoryKib: 19456, iterations: 2, parallelism: 1, concurrency: 4 };

describe('password hasher', () => {
  it('hashes with argon2id and the configured parameters, and verifies', async () => {
    const hasher = createPasswordHasher(DEFAULTS);
    const hash = await hasher.hash('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'correct horse')).toBe(true);
    expect(await hasher.verify(hash, 'Correct horse')).toBe(false);
  });

  it('gives two hashes of one password different salts', async () => {
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1 });
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('answers false, not an error, for a malformed hash', async () => {
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1 });
    expect(await hasher.verify('not a hash', 'x')).toBe(false);
  });

  it('spends a verification on the dummy hash and answers false', async () => {
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1 });
    const pending = hasher.verifyNothing('anything');
    // the first call computes the dummy hash itself: a slot is taken at once
    expect(hasher.running).toBe(1);
    expect(await pending).toBe(false);
    expect(hasher.running).toBe(0);
  });

  it('runs at most `concurrency` hashes at once and queues the rest', async () => {
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1, concurrency: 2 });
    const hashes = Array.from({ length: 10 }, (_, index) => hasher.hash(`password ${index}`));
    expect(hasher.running).toBe(2);
    expect(hasher.queued).toBe(8);
    const done = await Promise.all(hashes);
    expect(new Set(done).size).toBe(10);
    expect(hasher.running).toBe(0);
    expect(hasher.queued).toBe(0);
  });
});
