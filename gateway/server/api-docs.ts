// The API documents, generated from the handlers' own zod schemas so they cannot drift: AsyncAPI 3.0 for the
// socket, OpenAPI 3.1 for POST /AP/<FunctionName> and /api/User/authreset, and the Markdown protocol reference.
import { z } from 'zod';
import type { Handler } from '../../handlers/context';
import { ErrorCodes } from '../../protocol/codes';
import type { ErrorName } from '../../protocol/codes';
import { MessageType } from '../../protocol/frame';
import { StandardResponseSchema } from '../../handlers/replies';
import { AuthResetBody, AuthResetReply } from './payabli';

/** The version of the wire API these documents describe (not the package's). */
export const API_VERSION = '1.0.0';

type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as JSON Schema: requests as the client may send them (before transforms such as a UserId in
 * digits becoming a number), replies as the gateway sends them. AsyncAPI's schemas are draft-07; OpenAPI 3.1's
 * are 2020-12.
 */
export function jsonSchemaOf(
  schema: z.ZodType,
  direction: 'request' | 'reply',
  target: 'draft-07' | 'draft-2020-12',
): JsonSchema {
  const json: JsonSchema = z.toJSONSchema(schema, {
    io: direction === 'request' ? 'input' : 'output',
    target: target === 'draft-07' ? 'draft-7' : 'draft-2020-12',
    unrepresentable: 'any',
  });
  // the document states the dialect once, for all its schemas
  delete json.$schema;
  return json;
}

/** The reply schema of a handler; each one in the list must name it (tests/gateway/api-docs.test.ts). */
function outputOf(handler: Handler): z.ZodType {
  if (handler.output === undefined)
    throw new Error(`${handler.name}: no output schema for the API documents`);
  return handler.output;
}

function accessText(handler: Handler): string {
  if (handler.access === 'public') return 'anyone, no login needed';
  if (handler.access === 'session') return 'any logged-in user';
  return `a user with one of: ${[...handler.access.permissions, handler.name].join(', ')}`;
}

/** The codes a function may answer besides success: its own, the request's 100, the server's 102 and, for a session, 20. */
function errorsOf(handler: Handler): [ErrorName, string][] {
  const errors: Partial<Record<ErrorName, string>> = {
    InvalidRequest: 'the payload does not match the request schema (detail names the key, never the value)',
    ...(handler.access === 'public' ? {} : { NotAuthorized: 'no session, or a permission is missing' }),
    ServerError: 'an internal error, or the store did not answer in time',
    ...handler.errors,
  };
  return (Object.keys(ErrorCodes) as ErrorName[]).flatMap((name) => {
    const when = errors[name];
    return when === undefined ? [] : [[name, when] as [ErrorName, string]];
  });
}

const ERROR_CODE_LIST = Object.values(ErrorCodes)
  .map((entry) => `${entry.code} ${entry.message}`)
  .join(', ');

/** A request and its reply as they travel, shown in the documents and checked against a live gateway. */
export interface WireExample {
  readonly name: string;
  readonly summary: string;
  readonly request: { m: number; i: number; n: string; o: string };
  readonly reply: { m: number; i: number; n: string; o: string };
}

const frame = (m: number, i: number, n: string, o: unknown) => ({ m, i, n, o: JSON.stringify(o) });
const refusal = (code: ErrorName, detail: string) => ({
  result: false,
  errormsg: ErrorCodes[code].message,
  errorcode: ErrorCodes[code].code,
  detail,
});

/** Replies whose every byte is fixed, so tests/gateway/api-docs.test.ts can send each and compare. */
export const WIRE_EXAMPLES: readonly WireExample[] = [
  {
    name: 'Ping',
    summary: 'Ping and its PONG',
    request: frame(0, 2, 'Ping', {}),
    reply: frame(1, 2, 'Ping', { msg: 'PONG' }),
  },
  {
    name: 'AuthenticateUser',
    summary: 'A refused login (unknown name and wrong password get the same reply)',
    request: frame(0, 4, 'AuthenticateUser', { UserName: 'nobody', Password: 'not-the-password' }),
    reply: frame(1, 4, 'AuthenticateUser', {
      Authenticated: false,
      SessionToken: null,
      User: null,
      Locked: false,
      Requires2FA: false,
      TwoFAType: null,
      TwoFAToken: null,
      errormsg: 'Invalid username or password',
    }),
  },
  {
    name: 'WebAuthenticateUser',
    summary: 'Resuming a session that has ended',
    request: frame(0, 6, 'WebAuthenticateUser', { SessionToken: '3f1c9a52-0000-4000-8000-000000000000' }),
    reply: frame(1, 6, 'WebAuthenticateUser', {
      Authenticated: false,
      errormsg: 'Session expired or invalid',
    }),
  },
  {
    name: 'GetUserInfo',
    summary: 'A call that needs a session, without one',
    request: frame(0, 8, 'GetUserInfo', {}),
    reply: frame(1, 8, 'GetUserInfo', refusal('NotAuthorized', 'Not logged in')),
  },
  {
    name: 'ResetPassword2',
    summary: 'A reset link that is not (or no longer) valid',
    request: frame(0, 10, 'ResetPassword2', {
      UserId: 999999,
      Password: 'a new long passphrase',
      PendingCode: '00000000-0000-4000-8000-000000000000',
    }),
    reply: frame(
      1,
      10,
      'ResetPassword2',
      refusal('ResourceNotFound', 'Invalid or expired link; ask for a new password reset e-mail'),
    ),
  },
  {
    name: 'GetL2Snapshot',
    summary: 'A function the gateway does not serve: an error frame (m: 5)',
    request: frame(0, 12, 'GetL2Snapshot', {}),
    reply: frame(5, 12, 'GetL2Snapshot', refusal('OperationNotSupported', 'Endpoint Not Found')),
  },
];

const FRAME_DESCRIPTION =
  'One WebSocket text message is one frame {m, i, n, o}. m: 0 request, 1 reply, 2 subscribe, 3 event, ' +
  '4 unsubscribe, 5 error. i: any integer, echoed in the reply. n: the function name (matched ' +
  'case-insensitively). o: the payload as JSON text (a request may also send the object itself, or omit it).';

/** The AsyncAPI 3.0 document of the socket at /WSGateway. */
export function asyncApiDocument(handlers: readonly Handler[]): JsonSchema {
  const schemas: Record<string, JsonSchema> = {
    StandardResponse: jsonSchemaOf(StandardResponseSchema, 'reply', 'draft-07'),
  };
  const messages: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const ref = (path: string) => ({ $ref: path });
  const channelMessage = (name: string) => ref(`#/channels/WSGateway/messages/${name}`);

  const envelope = (m: number, name: string, o: JsonSchema): JsonSchema => ({
    type: 'object',
    required: ['m', 'i', 'n', 'o'],
    properties: {
      m: { const: m },
      i: { type: 'integer' },
      n: { type: 'string', const: name },
      o,
    },
  });
  const jsonText = (schemaRef: string) => ({
    type: 'string',
    contentMediaType: 'application/json',
    description: `JSON text; decoded, it matches ${schemaRef}`,
  });

  messages.ErrorFrame = {
    name: 'ErrorFrame',
    title: 'Error frame',
    summary: `m: 5, the gateway could not take the frame (bad JSON or frame: 100; unknown function: 106). Codes: ${ERROR_CODE_LIST}`,
    payload: {
      type: 'object',
      required: ['m', 'i', 'n', 'o'],
      properties: {
        m: { const: MessageType.Error },
        i: { type: 'integer' },
        n: { type: 'string' },
        o: jsonText('#/components/schemas/StandardResponse'),
      },
    },
  };
  for (const handler of handlers) {
    const name = handler.name;
    schemas[`${name}Request`] = jsonSchemaOf(handler.input, 'request', 'draft-07');
    schemas[`${name}Reply`] = jsonSchemaOf(outputOf(handler), 'reply', 'draft-07');
    const examples = WIRE_EXAMPLES.filter((example) => example.name === name);
    messages[`${name}Request`] = {
      name: `${name}Request`,
      title: `${name} request`,
      summary: handler.summary ?? name,
      payload: envelope(MessageType.Request, name, {
        description: 'The payload as JSON text, or the object itself; keys match case-insensitively',
        anyOf: [jsonText(`#/components/schemas/${name}Request`), ref(`#/components/schemas/${name}Request`)],
      }),
      examples: examples.map((example) => ({ name: example.summary, payload: example.request })),
    };
    messages[`${name}Reply`] = {
      name: `${name}Reply`,
      title: `${name} reply`,
      summary: `m: 1. On a refusal, o is the standard response with result false: ${errorsOf(handler)
        .map(([code, when]) => `${ErrorCodes[code].code} (${when})`)
        .join('; ')}`,
      payload: envelope(MessageType.Reply, name, {
        ...jsonText(`#/components/schemas/${name}Reply`),
        description: `JSON text; decoded, it matches #/components/schemas/${name}Reply, or #/components/schemas/StandardResponse on a refusal`,
      }),
      examples: examples.map((example) => ({ name: example.summary, payload: example.reply })),
    };
    operations[name] = {
      action: 'receive',
      title: name,
      summary: handler.summary ?? name,
      description: `Who may call: ${accessText(handler)}.`,
      channel: ref('#/channels/WSGateway'),
      messages: [channelMessage(`${name}Request`)],
      reply: {
        channel: ref('#/channels/WSGateway'),
        messages: [channelMessage(`${name}Reply`), channelMessage('ErrorFrame')],
      },
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'oms-gateway WebSocket API',
      version: API_VERSION,
      description: `${FRAME_DESCRIPTION} Replies come in completion order, matched by i.`,
    },
    servers: {
      local: {
        host: '127.0.0.1:8080',
        protocol: 'ws',
        pathname: '/WSGateway',
        description: 'npm start (development mode); /WSGateway/ and / serve the same socket',
      },
    },
    defaultContentType: 'application/json',
    channels: {
      WSGateway: {
        address: '/WSGateway',
        title: 'The OMS socket',
        description: FRAME_DESCRIPTION,
        messages: Object.fromEntries(
          Object.keys(messages).map((name) => [name, ref(`#/components/messages/${name}`)]),
        ),
      },
    },
    operations,
    components: { schemas, messages },
  };
}

/** The OpenAPI 3.1 document of POST /AP/<FunctionName> and POST /api/User/authreset. */
export function openApiDocument(handlers: readonly Handler[]): JsonSchema {
  const standard = { $ref: '#/components/schemas/StandardResponse' };
  const standardAnswer = (description: string) => ({
    description,
    content: { 'application/json': { schema: standard } },
  });
  const paths: Record<string, JsonSchema> = {};
  const schemas: Record<string, JsonSchema> = {
    StandardResponse: jsonSchemaOf(StandardResponseSchema, 'reply', 'draft-2020-12'),
    AuthResetUserRequest: jsonSchemaOf(AuthResetBody, 'request', 'draft-2020-12'),
    AuthResetUserResponse: jsonSchemaOf(AuthResetReply, 'reply', 'draft-2020-12'),
  };
  for (const handler of handlers) {
    const name = handler.name;
    schemas[`${name}Request`] = jsonSchemaOf(handler.input, 'request', 'draft-2020-12');
    schemas[`${name}Reply`] = jsonSchemaOf(outputOf(handler), 'reply', 'draft-2020-12');
    paths[`/AP/${name}`] = {
      post: {
        operationId: name,
        summary: handler.summary ?? name,
        description:
          `Who may call: ${accessText(handler)}. The body is the payload (the o of a socket frame, not encoded as a ` +
          'string), read as JSON whatever the Content-Type; the function name matches case-insensitively. ' +
          `Refusals answer 200 with the standard response: ${errorsOf(handler)
            .map(([code, when]) => `${ErrorCodes[code].code} (${when})`)
            .join('; ')}.`,
        tags: ['AP'],
        ...(handler.access === 'public' ? {} : { security: [{ APToken: [] }] }),
        requestBody: {
          required: false,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}Request` } } },
        },
        responses: {
          '200': {
            description: 'The call was answered: its reply, or the standard response of a refusal',
            content: {
              'application/json': {
                schema: { anyOf: [{ $ref: `#/components/schemas/${name}Reply` }, standard] },
              },
            },
          },
          '400': standardAnswer('The body is not JSON (errorcode 100)'),
          '403': standardAnswer('A browser Origin that is not allowed (errorcode 20)'),
          '413': standardAnswer('The body is larger than MAX_FRAME_BYTES (errorcode 100)'),
          '503': standardAnswer('The gateway is shutting down (errorcode 102)'),
        },
      },
    };
  }
  const payabliAnswer = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/AuthResetUserResponse' } } },
  });
  paths['/api/User/authreset'] = {
    post: {
      operationId: 'auth-reset-user',
      summary: 'Reset password for User',
      description:
        'Payabli-compatible: starts the same password reset as ResetPassword for the user with that e-mail. ' +
        'An unknown, locked or too-often-asked address gets the same 200 Success, so accounts cannot be found.',
      tags: ['User'],
      parameters: [
        {
          name: 'requestToken',
          in: 'header',
          required: true,
          description: 'An API token made with `oms-gateway token create`',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/AuthResetUserRequest' } } },
      },
      responses: {
        '200': payabliAnswer('Success: the request was taken, whether or not a user has that address'),
        '400': payabliAnswer('Bad request/ invalid data: responseText says what is wrong'),
        '401': payabliAnswer('Unauthorized request: requestToken missing or not a token'),
        '403': payabliAnswer('The token may not use that entry'),
        '413': payabliAnswer('The body is larger than MAX_FRAME_BYTES'),
        '429': payabliAnswer('The token used up AUTHRESET_TOKEN_LIMIT (Retry-After says when to come back)'),
        '500': payabliAnswer('Internal API Error'),
        '503': payabliAnswer('Database connection error: Redis did not answer'),
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'oms-gateway HTTP API',
      version: API_VERSION,
      description:
        'The wire functions over HTTP (POST /AP/<FunctionName>, OMS style) and the Payabli-compatible reset endpoint.',
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'npm start (development mode)' }],
    tags: [
      { name: 'AP', description: 'The OMS functions over HTTP; a session travels in the APToken header' },
      { name: 'User', description: 'Payabli-compatible' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        APToken: {
          type: 'apiKey',
          in: 'header',
          name: 'APToken',
          description: 'The SessionToken of AuthenticateUser or WebAuthenticateUser',
        },
      },
    },
  };
}

/** A schema as one line of Markdown-safe text: the JSON Schema, compact. */
function schemaBlock(schema: JsonSchema): string {
  return ['```json', JSON.stringify(schema, null, 2), '```'].join('\n');
}

/** docs/protocol-reference.md: every wire function with its request, reply, errors and examples. */
export function protocolReference(handlers: readonly Handler[]): string {
  const lines = [
    '# Protocol reference',
    '',
    '<!-- Generated by `npm run docs` from the handlers (gateway/server/api-docs.ts); a test fails when it is stale. -->',
    '',
    FRAME_DESCRIPTION,
    '',
    'The same functions are documented for tools in [`api/asyncapi.json`](api/asyncapi.json) (the socket) and',
    '[`api/openapi.json`](api/openapi.json) (`POST /AP/<FunctionName>` and `POST /api/User/authreset`); a running',
    'gateway serves both at `/asyncapi.json` and `/openapi.json`.',
    '',
    '## Error codes',
    '',
    '| errorcode | errormsg |',
    '| --------- | -------- |',
    ...Object.values(ErrorCodes).map((entry) => `| ${entry.code} | ${entry.message} |`),
    '',
    'A refusal is an `m: 1` reply whose `o` is the standard response with `result: false`; a frame the gateway could',
    'not take (bad JSON, an unknown function) gets an `m: 5` error frame with the same object.',
    '',
  ];
  for (const handler of handlers) {
    lines.push(
      `## ${handler.name}`,
      '',
      handler.summary ?? '',
      '',
      `Who may call: ${accessText(handler)}.`,
      '',
    );
    lines.push(
      'Request payload:',
      '',
      schemaBlock(jsonSchemaOf(handler.input, 'request', 'draft-2020-12')),
      '',
    );
    lines.push(
      'Reply payload:',
      '',
      schemaBlock(jsonSchemaOf(outputOf(handler), 'reply', 'draft-2020-12')),
      '',
    );
    lines.push('| errorcode | when |', '| --------- | ---- |');
    for (const [code, when] of errorsOf(handler)) lines.push(`| ${ErrorCodes[code].code} | ${when} |`);
    lines.push('');
    for (const example of WIRE_EXAMPLES.filter((candidate) => candidate.name === handler.name)) {
      lines.push(`${example.summary}:`, '', '```text');
      lines.push(`→ ${JSON.stringify(example.request)}`, `← ${JSON.stringify(example.reply)}`, '```', '');
    }
  }
  const unserved = WIRE_EXAMPLES.filter(
    (example) => !handlers.some((handler) => handler.name === example.name),
  );
  if (unserved.length > 0) {
    lines.push('## Functions the gateway does not serve', '');
    for (const example of unserved) {
      lines.push(`${example.summary}:`, '', '```text');
      lines.push(`→ ${JSON.stringify(example.request)}`, `← ${JSON.stringify(example.reply)}`, '```', '');
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
