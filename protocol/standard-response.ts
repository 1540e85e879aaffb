// The OMS standard response object and the one mapper from any thrown value to it.
import { OmsError } from './codes';

export interface StandardResponse {
  result: boolean;
  errormsg: string | null;
  errorcode: number;
  detail: string | null;
}

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
  return toStandardResponse(internalError());
}

/** What the caller is told of an error it did not cause: 102, and nothing of the original. */
export function internalError(): OmsError {
  return new OmsError('ServerError', 'Internal error');
}
