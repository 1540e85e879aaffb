// The OMS standard response object and the one mapper from any thrown value to it.
import { z } from 'zod';
import { ErrorCodes, OmsError } from './codes';

export interface StandardResponse {
  result: boolean;
  errormsg: string | null;
  errorcode: number;
  detail: string | null;
}

/** The same object as a schema, for the replies of functions documented to return it. */
export const StandardResponseSchema = z
  .object({
    result: z.boolean(),
    errormsg: z.enum(Object.values(ErrorCodes).map((entry) => entry.message)).nullable(),
    errorcode: z.union([z.literal(0), ...Object.values(ErrorCodes).map((entry) => z.literal(entry.code))]),
    detail: z.string().nullable(),
  })
  .meta({ description: 'The OMS standard response object' });

/** Success of a call whose documented response is the standard object. */
export function standardSuccess(detail: string | null = null): StandardResponse {
  return { result: true, errormsg: null, errorcode: 0, detail };
}

/**
 * Known errors pass through; anything else becomes 102 Server Error and is reported to `onUnexpected`
 * (the caller logs it), so internals never reach the wire.
 */
export function toStandardResponse(
  error: unknown,
  onUnexpected?: (error: unknown) => void,
): StandardResponse {
  if (error instanceof OmsError) {
    return { result: false, errormsg: error.errormsg, errorcode: error.code, detail: error.detail };
  }
  onUnexpected?.(error);
  return { result: false, errormsg: 'Server Error', errorcode: 102, detail: 'Internal error' };
}
