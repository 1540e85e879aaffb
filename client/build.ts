// Builds the client's ES modules beside tsc's CommonJS output: one for Node (with `ws`) and one for browsers.
// `npm run build` runs it as `node dist/client/build.js client dist/client`; package.json's `exports` points at them.
import path from 'node:path';
import { build } from 'esbuild';

export async function buildClient(sourceDir: string, outDir: string): Promise<void> {
  const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'silent' } as const;
  // Node: ws stays an import of the installing project's own ws
  await build({
    ...common,
    entryPoints: [path.join(sourceDir, 'node.ts')],
    outfile: path.join(outDir, 'node.mjs'),
    platform: 'node',
    target: 'node20',
    external: ['ws'],
  });
  // browsers (and bundlers that pick the "browser" condition): the platform's WebSocket, no Node module
  await build({
    ...common,
    entryPoints: [path.join(sourceDir, 'oms-client.ts')],
    outfile: path.join(outDir, 'browser.mjs'),
    platform: 'browser',
    target: ['chrome90', 'firefox90', 'safari14', 'edge90'],
  });
}

if (require.main === module) {
  const [sourceDir, outDir] = process.argv.slice(2);
  if (sourceDir === undefined || outDir === undefined) {
    process.stderr.write('usage: node dist/client/build.js <client source dir> <out dir>\n');
    process.exit(2);
  }
  buildClient(sourceDir, outDir).catch((error: unknown) => {
    process.stderr.write(`client build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
