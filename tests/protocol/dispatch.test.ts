// The dispatcher alone: frame text in, reply frame text out, with no socket anywhere.
import { z } from 'zod';
import { OmsError } from '../../protocol/codes';
import { createDispatcher, indexHandlers } from '../../protocol/dispatch';
import type { CallOutcome } from '../../protocol/dispatch';
import { defineHandler } from '../../protocol/handler';
import type { Caller, Connection } from '../../protocol/handler';

const operator: Caller = { userId: 1, userName: 'op', permissions: ['Operator'], accountIds: [1] };
const trader: Caller = { userId: 2, userName: 'tr', permissions: ['Trading'], accountIds: [1] };

function connectionAs(caller: Caller | null): Connection {
  return {
    id: 'test',
    transport: 'ws',
    clientAddress: '127.0.0.1',
    currentCaller: () => Promise.resolve(caller),
    bindSession: () => undefined,
  };
}

const handlers = [
  defineHandler<unknown, z.ZodObject<{ Name: z.ZodString }>>({
    name: 'Echo',
    input: z.object({ Name: z.string() }),
    access: 'public',
    run: (payload) => Promise.resolve({ Name: payload.Name }),
  }),
  defineHandler<unknown, z.ZodObject>({
    name: 'OperatorOnly',
    input: z.object({}),
    access: { permissions: ['Operator'] },
    run: () => Promise.resolve(undefined),
  }),
  defineHandler<unknown, z.ZodObject>({
    name: 'Fails',
    input: z.object({}),
    access: 'public',
    run: () => Promise.reject(new OmsError('OperationFailed', 'Nope')),
  }),
  defineHandler<unknown, z.ZodObject>({
    name: 'Crashes',
    input: z.object({}),
    access: 'public',
    run: () => Promise.reject(new Error('database password is hunter2')),
  }),
];

function setup() {
  const outcomes: CallOutcome[] = [];
  const dispatcher = createDispatcher(handlers, {
    services: {},
    onCall: (outcome) => outcomes.push(outcome),
  });
  const signal = new AbortController().signal;
  const run = async (frame: object | string, caller: Caller | null = null) => {
    const reply = await dispatcher.dispatch(
      typeof frame === 'string' ? frame : JSON.stringify(frame),
      connectionAs(caller),
      signal,
    );
    const parsed = JSON.parse(reply.text) as { m: number; i: number; n: string; o: string };
    return { ...parsed, payload: JSON.parse(parsed.o) as unknown };
  };
  return { dispatcher, outcomes, run };
}

describe('dispatcher', () => {
  it('answers a request with m:1, the same i and n, and the handler value in o', async () => {
    const { run } = setup();
    expect(await run({ m: 0, i: 12, n: 'Echo', o: '{"Name":"x"}' })).toEqual({
      m: 1,
      i: 12,
      n: 'Echo',
      o: '{"Name":"x"}',
      payload: { Name: 'x' },
    });
  });

  it('matches function names case-insensitively and echoes the name as sent', async () => {
    const { run } = setup();
    const reply = await run({ m: 0, i: 2, n: 'eCHO', o: { name: 'y' } });
    expect(reply.n).toBe('eCHO');
    expect(reply.payload).toEqual({ Name: 'y' });
  });

  it('answers an unknown function with an m:5 frame, errorcode 106 Endpoint Not Found', async () => {
    const { run } = setup();
    expect(await run({ m: 0, i: 4, n: 'NoSuchCall', o: '' })).toMatchObject({
      m: 5,
      i: 4,
      n: 'NoSuchCall',
      payload: {
        result: false,
        errormsg: 'Operation Not Supported',
        errorcode: 106,
        detail: 'Endpoint Not Found',
      },
    });
  });

  it.each([2, 4])('answers m:%i (subscribe/unsubscribe) with 106, since nothing is served', async (m) => {
    const { run } = setup();
    expect(await run({ m, i: 6, n: 'Echo', o: '' })).toMatchObject({
      m: 5,
      i: 6,
      payload: { errorcode: 106 },
    });
  });

  it('answers a reply-type frame from a client with errorcode 100', async () => {
    const { run } = setup();
    expect(await run({ m: 1, i: 6, n: 'Echo', o: '' })).toMatchObject({
      m: 5,
      i: 6,
      payload: { errorcode: 100 },
    });
  });

  it('answers a payload that fails validation with an m:1 standard object, errorcode 100, naming the key', async () => {
    const { run } = setup();
    const reply = await run({ m: 0, i: 8, n: 'Echo', o: '{"Name":5}' });
    expect(reply.m).toBe(1);
    expect(reply.payload).toMatchObject({ result: false, errormsg: 'Invalid Response', errorcode: 100 });
    expect((reply.payload as { detail: string }).detail).toMatch(/^Name: /);
  });

  it('answers errorcode 20 when no one is logged in, and when the permission is missing', async () => {
    const { run } = setup();
    expect((await run({ m: 0, i: 2, n: 'OperatorOnly' })).payload).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    expect((await run({ m: 0, i: 2, n: 'OperatorOnly' }, trader)).payload).toMatchObject({ errorcode: 20 });
  });

  it('answers the standard success object when a permitted handler returns nothing', async () => {
    const { run } = setup();
    expect((await run({ m: 0, i: 2, n: 'OperatorOnly' }, operator)).payload).toEqual({
      result: true,
      errormsg: null,
      errorcode: 0,
      detail: null,
    });
  });

  it('grants a call to a user holding a permission named after the call', async () => {
    const { run } = setup();
    const named: Caller = { ...trader, permissions: ['OperatorOnly'] };
    expect((await run({ m: 0, i: 2, n: 'OperatorOnly' }, named)).payload).toMatchObject({ errorcode: 0 });
  });

  it('passes a handler business error through as its standard object', async () => {
    const { run } = setup();
    expect((await run({ m: 0, i: 2, n: 'Fails' })).payload).toEqual({
      result: false,
      errormsg: 'Operation Failed',
      errorcode: 101,
      detail: 'Nope',
    });
  });

  it('turns an unexpected error into 102 Server Error without leaking its message, and reports the original', async () => {
    const { run, outcomes } = setup();
    const reply = await run({ m: 0, i: 2, n: 'Crashes' });
    expect(reply.payload).toEqual({
      result: false,
      errormsg: 'Server Error',
      errorcode: 102,
      detail: 'Internal error',
    });
    expect(reply.o).not.toContain('hunter2');
    expect(outcomes.at(-1)?.unexpected).toBeInstanceOf(Error);
  });

  it('refuses a duplicate handler name at start-up, whatever its case', () => {
    expect(() => indexHandlers([handlers[0]!, { ...handlers[0]!, name: 'ECHO' }])).toThrow(
      'Duplicate handler name',
    );
  });
});
