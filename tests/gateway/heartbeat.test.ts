// The heartbeat's slices: each socket once per round, no slice more than its share, joiners and leavers handled.
import { heartbeatSlices } from '../../gateway/server/heartbeat';

function sockets(count: number) {
  const beats = new Map<number, number[]>();
  const set = new Set(
    Array.from({ length: count }, (_, id) => ({
      id,
      heartbeat: () => beats.set(id, [...(beats.get(id) ?? []), call]),
    })),
  );
  let call = 0;
  return { set, beats, setCall: (value: number) => (call = value) };
}

describe('heartbeatSlices', () => {
  it('beats every socket once per round, at most ceil(n / slices) of them in any slice', () => {
    const { set, beats, setCall } = sockets(1000);
    const runSlice = heartbeatSlices(set, 30);
    const perSlice: number[] = [];
    for (let call = 0; call < 60; call += 1) {
      setCall(call);
      perSlice.push(runSlice());
    }
    expect(Math.max(...perSlice)).toBeLessThanOrEqual(Math.ceil(1000 / 30));
    expect(perSlice.reduce((a, b) => a + b, 0)).toBe(2000);
    for (const calls of beats.values()) {
      expect(calls).toHaveLength(2);
      // the same offset in both rounds: a silent peer is caught one round after its missed pong
      expect(calls[1]! - calls[0]!).toBe(30);
    }
  });

  it('leaves a socket that joined mid-round for the next round, and skips one that left', () => {
    const { set, beats, setCall } = sockets(10);
    const runSlice = heartbeatSlices(set, 5);
    const [first] = set;
    setCall(0);
    runSlice();
    set.delete(first!);
    const joiner = { id: 99, heartbeat: () => beats.set(99, [...(beats.get(99) ?? []), -1]) };
    set.add(joiner);
    for (let call = 1; call < 5; call += 1) runSlice();
    expect(beats.has(99)).toBe(false);
    expect(beats.get(first!.id)).toEqual([0]); // beaten before it left, in slice 0
    for (let call = 5; call < 10; call += 1) runSlice();
    expect(beats.get(99)).toHaveLength(1);
    expect(beats.get(first!.id)).toEqual([0]);
  });

  it('is one sweep when the interval is shorter than a slice', () => {
    const { set } = sockets(50);
    expect(heartbeatSlices(set, 1)()).toBe(50);
  });
});
