// Writes the generated API documents: `npm run build` into dist/api, `npm run docs` into docs/ (committed).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { handlers } from '../handlers';
import { asyncApiDocument, openApiDocument, protocolReference } from './server/api-docs';

/** The files, by path relative to the folder they go in. */
export function apiDocumentFiles(): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'api/asyncapi.json': json(asyncApiDocument(handlers)),
    'api/openapi.json': json(openApiDocument(handlers)),
    'protocol-reference.md': protocolReference(handlers),
  };
}

if (require.main === module) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    process.stderr.write('usage: node dist/gateway/write-api-docs.js <out dir>\n');
    process.exit(2);
  }
  for (const [file, text] of Object.entries(apiDocumentFiles())) {
    mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
    writeFileSync(path.join(outDir, file), text);
  }
}
