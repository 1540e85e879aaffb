// The argon2id hasher: explicit parameters in every hash, verification, the dummy check, and the bound on hashes in flight.
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { createPasswordHasher, HashQueueFullError } from '../../gateway/password-hasher';

/** The nice value of each thread of this process (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // the fields after the command name (which may hold spaces, hence the last ')'); nice is the 17th of them
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

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

  it('hashes on threads niced 10 below the event loop, so a flood of hashes cannot take its CPU (Linux)', async () => {
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1 });
    await hasher.hash('started a hash thread');
    const loopNice = getPriority(process.pid);
    expect(threadNiceValues()).toContain(Math.min(19, loopNice + 10));
    expect(getPriority(process.pid)).toBe(loopNice);
  });

  it("rejects a hash argon2 refuses with argon2's reason, and the next hash still works", async () => {
    // argon2 needs at least 8 KiB per lane: 1 KiB is refused inside the hash thread
    const refused = createPasswordHasher({ ...DEFAULTS, memoryKib: 1, iterations: 1 });
    await expect(refused.hash('too little memory')).rejects.toThrow(/memory/i);
    expect(refused.running).toBe(0);
    const hasher = createPasswordHasher({ ...DEFAULTS, memoryKib: 64, iterations: 1 });
    expect(await hasher.hash('after a refusal')).toMatch(/^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
  });

  it("refuses a caller's hash at once past the per-address bound, and admits other addresses", async () => {
    const hasher = createPasswordHasher({
      ...DEFAULTS,
      memoryKib: 64,
      iterations: 1,
      concurrency: 1,
      queueMaxPerAddress: 2,
    });
    const a = { address: '192.0.2.1' };
    const admitted = [hasher.hash('one', a), hasher.verifyNothing('two', a)];
    const refused = hasher.verify('$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA', 'three', a);
    await expect(refused).rejects.toBeInstanceOf(HashQueueFullError);
    await expect(refused).rejects.toMatchObject({
      code: 101,
      detail: expect.stringMatching(/^Too many password checks in progress; retry after [1-9]\d* seconds$/),
    });
    const other = hasher.hash('four', { address: '192.0.2.2' });
    await Promise.all([...admitted, other]);
    // the places are given back: the address is admitted again; calls without a caller never count
    expect(await hasher.hash('five', a)).toMatch(/^\$argon2id\$/);
  });

  it('refuses callers at once once HASH_QUEUE_MAX hashes wait, but never an internal hash', async () => {
    const hasher = createPasswordHasher({
      ...DEFAULTS,
      memoryKib: 64,
      iterations: 1,
      concurrency: 1,
      queueMax: 2,
    });
    const caller = (n: number) => ({ address: `192.0.2.${n}` });
    const admitted = [
      hasher.hash('runs', caller(1)),
      hasher.hash('waits', caller(2)),
      hasher.hash('waits', caller(3)),
    ];
    expect(hasher.queued).toBe(2);
    await expect(hasher.hash('refused', caller(4))).rejects.toBeInstanceOf(HashQueueFullError);
    const internal = hasher.hash('seeding at start-up');
    expect(hasher.queued).toBe(3);
    await Promise.all([...admitted, internal]);
  });
});
