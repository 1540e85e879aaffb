// OMS frames {m, i, n, o}: the message types and the first two decode steps (text → JSON → frame).
import { OmsError } from './codes';

export const MessageType = {
  Request: 0,
  Reply: 1,
  Subscribe: 2,
  Event: 3,
  Unsubscribe: 4,
  Error: 5,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A frame as it travels: `o` is the payload as a JSON-encoded string. */
export interface Frame {
  m: MessageType;
  i: number;
  n: string;
  o: string;
}

/** A client's frame after decoding; `o` is kept raw (string, object, null or absent) for the payload step. */
export interface RequestFrame {
  m: MessageType;
  i: number;
  n: string;
  o: unknown;
}

/** Thrown by the decode steps; carries the sequence number when it could be read, so the reply can echo it. */
export class FrameError extends OmsError {
  readonly sequence: number;
  readonly functionName: string;

  constructor(detail: string, sequence = 0, functionName = '') {
    super('InvalidRequest', detail);
    this.sequence = sequence;
    this.functionName = functionName;
  }
}

const MESSAGE_TYPES: ReadonlySet<number> = new Set(Object.values(MessageType));

/** Step 1: text → JSON. The parser's own message is dropped: it quotes the input, which may hold a secret. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FrameError('Frame is not valid JSON');
  }
}

/** Step 2: JSON → frame. */
export function toRequestFrame(value: unknown): RequestFrame {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FrameError('Frame must be a JSON object {m, i, n, o}');
  }
  const record = value as Record<string, unknown>;
  const sequence = Number.isSafeInteger(record.i) ? (record.i as number) : undefined;
  const name = typeof record.n === 'string' ? record.n : '';
  if (sequence === undefined) throw new FrameError('Frame field "i" must be an integer', 0, name);
  if (typeof record.m !== 'number' || !MESSAGE_TYPES.has(record.m)) {
    throw new FrameError('Frame field "m" must be a message type 0 to 5', sequence, name);
  }
  if (typeof record.n !== 'string' || record.n.length === 0) {
    throw new FrameError('Frame field "n" must be a function name', sequence, name);
  }
  return { m: record.m as MessageType, i: sequence, n: record.n, o: record.o };
}

export function decodeFrame(text: string): RequestFrame {
  return toRequestFrame(parseJson(text));
}

export function encodeFrame(m: MessageType, i: number, n: string, payload: unknown): string {
  const frame: Frame = { m, i, n, o: JSON.stringify(payload) };
  return JSON.stringify(frame);
}
