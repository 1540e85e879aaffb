// The one map from an error to an HTTP answer, for POST /AP/<FunctionName> and POST /api/User/authreset alike:
// a status, the OMS error whose words the body carries, and the headers. Each front door only renders the body.
import { OmsError } from '../../protocol/codes';
import { internalError } from '../../protocol/standard-response';
import { StoreUnavailableError } from '../../core/ports/store';
import { BodyAbortedError, BodyNotJsonError, BodyTooLargeError } from './http-body';

/** A refusal with its own status (a refused origin, a missing token, a limit, shutdown). */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: OmsError,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(error.message);
    this.name = 'HttpRefusal';
  }
}

export interface HttpFailure {
  readonly status: number;
  readonly error: OmsError;
  readonly headers: Readonly<Record<string, string>>;
  /** Not what the caller did: log it (the body says only "Internal error"). */
  readonly unexpected: boolean;
}

/** What to answer for `error`, or null when the client went away and there is no one to answer. */
export function httpFailureOf(error: unknown): HttpFailure | null {
  const failure = (
    status: number,
    omsError: OmsError,
    headers: Record<string, string> = {},
  ): HttpFailure => ({
    status,
    error: omsError,
    headers,
    unexpected: false,
  });
  if (error instanceof BodyAbortedError) return null;
  if (error instanceof HttpRefusal) return failure(error.status, error.error, { ...error.headers });
  // the rest of the body is not read: the connection cannot carry another request after this answer
  if (error instanceof BodyTooLargeError)
    return failure(413, new OmsError('InvalidRequest', error.message), { connection: 'close' });
  if (error instanceof BodyNotJsonError) return failure(400, new OmsError('InvalidRequest', error.message));
  if (error instanceof StoreUnavailableError) return failure(503, error);
  return { status: 500, error: internalError(), headers: {}, unexpected: true };
}
