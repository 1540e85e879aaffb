// The OMS error codes of the seeds (ResetPassword, ResetPassword2 pages) and the one error type handlers throw.

/** errorcode → errormsg, exactly as the seeds spell them. */
export const ErrorCodes = {
  NotAuthorized: { code: 20, message: 'Not Authorized' },
  InvalidRequest: { code: 100, message: 'Invalid Response' }, // the seeds' wording for a bad request
  OperationFailed: { code: 101, message: 'Operation Failed' },
  ServerError: { code: 102, message: 'Server Error' },
  ResourceNotFound: { code: 104, message: 'Resource Not Found' },
  OperationNotSupported: { code: 106, message: 'Operation Not Supported' },
} as const;

export type ErrorName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorName]['code'];

/** A failure that reaches the caller as a standard response object with `result: false`. */
export class OmsError extends Error {
  readonly code: ErrorCode;
  readonly errormsg: string;
  /** Text for the caller. Never put a secret or a client-sent value here. */
  readonly detail: string | null;

  constructor(name: ErrorName, detail?: string | null, options?: { cause?: unknown }) {
    super(`${ErrorCodes[name].message}${detail ? `: ${detail}` : ''}`, options);
    this.name = 'OmsError';
    this.code = ErrorCodes[name].code;
    this.errormsg = ErrorCodes[name].message;
    this.detail = detail ?? null;
  }
}
