// MAX_HANDSHAKES_PER_SECOND's token bucket on a clock the test moves: a second's worth at once, then the rate.
import { createHandshakeBucket } from '../../gateway/server/admission';

describe('handshake bucket', () => {
  it('admits one second of upgrades at once, then one per 1/rate seconds', () => {
    let now = 0;
    const bucket = createHandshakeBucket(4, () => now);
    expect([1, 2, 3, 4, 5].map(() => bucket.take())).toEqual([true, true, true, true, false]);
    now += 240;
    expect(bucket.take()).toBe(false);
    now += 20;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('never holds more than a second of upgrades after a quiet hour', () => {
    let now = 0;
    const bucket = createHandshakeBucket(3, () => now);
    now += 3_600_000;
    expect([1, 2, 3, 4].map(() => bucket.take())).toEqual([true, true, true, false]);
  });

  it('does not bound anything at 0', () => {
    const bucket = createHandshakeBucket(0, () => 0);
    expect(Array.from({ length: 1000 }, () => bucket.take()).every(Boolean)).toBe(true);
  });
});
