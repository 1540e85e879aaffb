// Reads an HTTP request's body as JSON within a size limit, whatever its Content-Type (the OMS front end sends none).
import type { IncomingMessage } from 'node:http';

/** The body is over the limit (Content-Length says so, or the bytes that arrived do). */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body is not JSON. The parser's message is not kept: it quotes the input, which may hold a password. */
export class BodyNotJsonError extends Error {
  constructor() {
    super('Request body is not valid JSON');
    this.name = 'BodyNotJsonError';
  }
}

/** The client went away before the body ended: there is no one to answer. */
export class BodyAbortedError extends Error {
  constructor() {
    super('Request aborted before its body ended');
    this.name = 'BodyAbortedError';
  }
}

/** The raw bytes, refused as soon as they pass `limit`. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      request.off('data', onData);
      action();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // stop reading: the answer says 413 and closes the connection (the rest of the body is never read)
        request.pause();
        return settle(() => reject(new BodyTooLargeError(limit)));
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => settle(() => resolve(Buffer.concat(chunks, size))));
    request.once('error', () => settle(() => reject(new BodyAbortedError())));
    request.once('close', () => settle(() => reject(new BodyAbortedError())));
  });
}

/**
 * The body parsed as JSON. An empty body (or only whitespace) is `undefined`: a call without a payload, as a
 * frame's empty `o` is on the socket.
 */
export async function readJsonBody(request: IncomingMessage, limit: number): Promise<unknown> {
  const text = (await readBody(request, limit)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyNotJsonError();
  }
}
