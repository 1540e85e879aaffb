// Decode step 4: the tolerant reading of `o` and validation against a handler's zod schema.
import { z } from 'zod';
import { OmsError } from '../../protocol/codes';
import { matchKeys, readPayloadObject, validatePayload } from '../../protocol/payload';

const schema = z.object({ UserName: z.string().min(1), Password: z.string().optional() });

function detailOf(action: () => unknown): string | null {
  try {
    action();
  } catch (error) {
    if (error instanceof OmsError) return error.detail;
    throw error;
  }
  throw new Error('expected an OmsError');
}

describe('readPayloadObject', () => {
  it.each([
    ['missing', undefined],
    ['empty string', ''],
    ['"null"', 'null'],
    ['"{}"', '{}'],
    ['null', null],
  ])('reads %s as an empty payload', (_label, o) => {
    expect(readPayloadObject(o)).toEqual({});
  });

  it('reads a JSON string and an object alike', () => {
    expect(readPayloadObject('{"UserName":"a"}')).toEqual({ UserName: 'a' });
    expect(readPayloadObject({ UserName: 'a' })).toEqual({ UserName: 'a' });
  });

  it.each([
    ['not JSON', '{"Password":"hunter2', 'Payload "o" is not valid JSON'],
    ['an array', '[1]', 'Payload "o" must be a JSON object'],
    ['a number', 5, 'Payload "o" must be a JSON object'],
    ['a JSON string of a string', '"abc"', 'Payload "o" must be a JSON object'],
  ])('rejects %s with errorcode 100 and a detail that quotes nothing', (_label, o, detail) => {
    expect(detailOf(() => readPayloadObject(o))).toBe(detail);
  });
});

describe('matchKeys', () => {
  it('matches payload keys to schema keys case-insensitively', () => {
    expect(matchKeys({ username: 'a', PASSWORD: 'b' }, schema)).toEqual({ UserName: 'a', Password: 'b' });
  });

  it('prefers the exact key when both spellings are sent', () => {
    expect(matchKeys({ username: 'x', UserName: 'exact' }, schema)).toEqual({ UserName: 'exact' });
  });
});

describe('validatePayload', () => {
  it('ignores extra keys', () => {
    expect(validatePayload('{"Username":"alice","Extra":1}', schema)).toEqual({ UserName: 'alice' });
  });

  it('names the path and the rule but never the value', () => {
    const detail = detailOf(() => validatePayload({ UserName: 'alice', Password: 12345678 }, schema));
    expect(detail).toMatch(/^Password: /);
    expect(detail).not.toContain('12345678');
  });

  it('reports a missing required key by name', () => {
    expect(detailOf(() => validatePayload('{}', schema))).toMatch(/^UserName: /);
  });
});
