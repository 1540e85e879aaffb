// The generated API documents: valid for the ecosystem's parsers, complete, equal to the handlers' zod schemas,
// served by the gateway, committed fresh in docs/, and their examples and reply schemas true of a live gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { validate } from '@readme/openapi-parser';
import { z } from 'zod';
import { handlers } from '../../handlers';
import type { Handler } from '../../handlers/context';
import { asyncApiDocument, openApiDocument, WIRE_EXAMPLES } from '../../gateway/server/api-docs';
import { AuthResetBody } from '../../gateway/server/payabli';
import { apiDocumentFiles } from '../../gateway/write-api-docs';
import { StandardResponseSchema } from '../../handlers/replies';
import { ROOT } from '../support/bundle';
import { startGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { clientAs, nextOutboxLink, startResetGateway, submitLink } from '../support/reset';
import { openClient } from '../support/ws-client';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- generated JSON, read by path

const asyncApi: Doc = asyncApiDocument(handlers);
const openApi: Doc = openApiDocument(handlers);

/** zod's JSON Schema of a schema, computed here on its own rather than through the generator. */
function zodJson(schema: z.ZodType, io: 'input' | 'output', target: 'draft-7' | 'draft-2020-12') {
  const json: Record<string, unknown> = z.toJSONSchema(schema, { io, target, unrepresentable: 'any' });
  delete json.$schema;
  return json;
}

function handlerNamed(name: string): Handler {
  const handler = handlers.find((candidate) => candidate.name === name);
  if (!handler) throw new Error(`no handler ${name}`);
  return handler;
}

describe('the AsyncAPI document', () => {
  it('parses with @asyncapi/parser without errors or warnings', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApi));
    // severity 0 is an error, 1 a warning (2 and 3 are hints, such as a newer AsyncAPI version existing)
    expect(
      diagnostics.filter((d) => Number(d.severity) <= 1).map((d) => `${d.path.join('.')}: ${d.message}`),
    ).toEqual([]);
    expect(
      document
        ?.operations()
        .all()
        .map((operation) => operation.id()),
    ).toEqual(handlers.map((handler) => handler.name));
  });

  it.each(handlers.map((handler) => [handler.name]))(
    'describes %s with its zod request and reply schemas',
    (name) => {
      const handler = handlerNamed(name);
      expect(asyncApi.operations[name].channel).toEqual({ $ref: '#/channels/WSGateway' });
      expect(asyncApi.components.schemas[`${name}Request`]).toEqual(
        zodJson(handler.input, 'input', 'draft-7'),
      );
      expect(asyncApi.components.schemas[`${name}Reply`]).toEqual(
        zodJson(handler.output!, 'output', 'draft-7'),
      );
    },
  );

  it('lists every error code', () => {
    for (const code of [20, 100, 101, 102, 104, 106])
      expect(asyncApi.components.schemas.StandardResponse.properties.errorcode.anyOf).toContainEqual({
        type: 'number',
        const: code,
      });
  });
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for @readme/openapi-parser', async () => {
    const result = await validate(structuredClone(openApi) as never);
    expect(result).toMatchObject({ valid: true });
  });

  it.each(handlers.map((handler) => [handler.name]))('has POST /AP/%s with its zod schemas', (name) => {
    const handler = handlerNamed(name);
    expect(openApi.paths[`/AP/${name}`].post.operationId).toBe(name);
    expect(openApi.components.schemas[`${name}Request`]).toEqual(
      zodJson(handler.input, 'input', 'draft-2020-12'),
    );
    expect(openApi.components.schemas[`${name}Reply`]).toEqual(
      zodJson(handler.output!, 'output', 'draft-2020-12'),
    );
  });

  it("has Payabli's POST /api/User/authreset with requestToken and the 200/400/401/500/503 answers", () => {
    const operation = openApi.paths['/api/User/authreset'].post;
    expect(operation.parameters).toContainEqual(
      expect.objectContaining({ name: 'requestToken', in: 'header', required: true }),
    );
    expect(Object.keys(operation.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '500', '503']),
    );
    expect(openApi.components.schemas.AuthResetUserRequest).toEqual(
      zodJson(AuthResetBody, 'input', 'draft-2020-12'),
    );
    expect(openApi.components.schemas.AuthResetUserResponse.required).toEqual(['isSuccess', 'responseText']);
  });
});

describe('the documents in docs/', () => {
  it.each(Object.keys(apiDocumentFiles()).map((file) => [file]))(
    'docs/%s is what `npm run docs` writes (regenerate it when this fails)',
    (file) => {
      expect(readFileSync(join(ROOT, 'docs', file), 'utf8')).toBe(apiDocumentFiles()[file]);
    },
  );
});

describe('a running gateway', () => {
  it('serves both documents', async () => {
    const gw = closedAfterEach(await startGateway());
    expect(await (await fetch(`${gw.httpUrl}/asyncapi.json`)).json()).toEqual(asyncApi);
    expect(await (await fetch(`${gw.httpUrl}/openapi.json`)).json()).toEqual(openApi);
  });

  it.each(WIRE_EXAMPLES.map((example) => [example.summary, example]))(
    'answers the documented example: %s',
    async (_summary, example) => {
      const gw = closedAfterEach(await startGateway());
      const client = await openClient(gw.wsUrl);
      try {
        client.send(JSON.stringify(example.request));
        expect(await client.next()).toEqual(example.reply);
      } finally {
        await client.close();
      }
    },
  );

  it('sends replies that match each function reply schema exactly (no undocumented field)', async () => {
    const reset = closedAfterEach(await startResetGateway({}, {}, { redis: false }));
    /** The reply, checked: the schema's parse (which drops unknown keys) must give it back unchanged. */
    const conforms = (name: string, reply: unknown) => {
      const handler = handlerNamed(name);
      const schema =
        (reply as { result?: boolean }).result === false ? StandardResponseSchema : handler.output!;
      expect({ name, reply: schema.parse(reply) }).toEqual({ name, reply });
    };
    const operator = await clientAs(reset, 'op');
    const login = await openClient(reset.wsUrl);
    try {
      const authenticated = (await login.call('AuthenticateUser', {
        UserName: 'alice',
        Password: 'x',
      })) as object;
      conforms('AuthenticateUser', authenticated);
      const alice = await reset.gateway.services.store.users.findByName('alice');
      const calls: [string, unknown][] = [
        ['Ping', {}],
        ['GetUserInfo', { UserName: 'alice' }],
        ['GetUserPermissions', { UserId: alice?.userId }],
        ['ResetPassword', { UserName: 'alice' }],
      ];
      for (const [name, payload] of calls) {
        const reply = await operator.call(name, payload);
        expect({ name, refused: (reply as { result?: boolean }).result === false }).toEqual({
          name,
          refused: false,
        });
        conforms(name, reply);
      }
      conforms('LogOut', await operator.call('LogOut', {}));
      const link = await nextOutboxLink(reset, 'alice@test.invalid');
      conforms('ResetPassword2', await submitLink(login, link, 'a brand new long passphrase'));
      const web = await login.call('WebAuthenticateUser', {
        UserName: 'alice',
        Password: 'a brand new long passphrase',
      });
      conforms('WebAuthenticateUser', web);
      const good = await login.call('AuthenticateUser', {
        UserName: 'alice',
        Password: 'a brand new long passphrase',
      });
      conforms('AuthenticateUser', good);
      expect(good).toMatchObject({ Authenticated: true });
    } finally {
      await Promise.all([operator.close(), login.close()]);
    }
  });
});
