// Decode steps 1 and 2 (text → JSON → frame) and frame encoding.
import { OmsError } from '../../protocol/codes';
import { decodeFrame, encodeFrame, FrameError, MessageType } from '../../protocol/frame';

describe('decodeFrame', () => {
  it('reads a request frame with its payload kept raw', () => {
    expect(decodeFrame('{"m":0,"i":2,"n":"Ping","o":"{}"}')).toEqual({ m: 0, i: 2, n: 'Ping', o: '{}' });
  });

  it('keeps any integer sequence number, including 0, odd and negative ones', () => {
    for (const i of [0, 1, 3, 7, -4, 2 ** 40]) {
      expect(decodeFrame(JSON.stringify({ m: 0, i, n: 'Ping', o: '' })).i).toBe(i);
    }
  });

  it('rejects text that is not JSON without quoting the text back', () => {
    let caught: unknown;
    try {
      decodeFrame('{"m":0,"o":"hunter2-secret');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).code).toBe(100);
    expect((caught as FrameError).detail).toBe('Frame is not valid JSON');
    expect(String((caught as Error).message)).not.toContain('hunter2');
  });

  it.each([
    ['an array', '[1,2]', 0],
    ['a number', '42', 0],
    ['a string i', '{"m":0,"i":"2","n":"Ping"}', 0],
    ['a fractional i', '{"m":0,"i":2.5,"n":"Ping"}', 0],
    ['a missing n', '{"m":0,"i":6}', 6],
    ['an empty n', '{"m":0,"i":6,"n":""}', 6],
    ['an unknown m', '{"m":9,"i":8,"n":"Ping"}', 8],
    ['a string m', '{"m":"0","i":8,"n":"Ping"}', 8],
  ])('rejects %s with errorcode 100, echoing the sequence when readable', (_label, text, sequence) => {
    expect(() => decodeFrame(text)).toThrow(OmsError);
    try {
      decodeFrame(text);
    } catch (error) {
      expect((error as FrameError).code).toBe(100);
      expect((error as FrameError).sequence).toBe(sequence);
    }
  });
});

describe('encodeFrame', () => {
  it('encodes the payload as a JSON string in o', () => {
    const text = encodeFrame(MessageType.Reply, 4, 'Ping', { msg: 'PONG' });
    expect(text).toBe('{"m":1,"i":4,"n":"Ping","o":"{\\"msg\\":\\"PONG\\"}"}');
  });
});
