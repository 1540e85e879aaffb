// Builds the reset page: bundles page/reset.ts (with the shared OMS client) and the CSS with esbuild, copies the HTML.
// `npm run build` runs it as `node dist/page/build.js page dist/page`; tests call buildPage() into a temporary folder.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { PAGE_FILES } from './files';

/** Browsers the page supports: evergreen ones and Safari from 14 (2020). */
const TARGET = ['chrome90', 'firefox90', 'safari14', 'edge90'];

export async function buildPage(sourceDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const script = await build({
    entryPoints: [path.join(sourceDir, 'reset.ts')],
    outfile: path.join(outDir, PAGE_FILES.script),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: TARGET,
    minify: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  // the browser has its own WebSocket; a Node module in the bundle would mean the client lost its isomorphism
  const nodeOnly = Object.keys(script.metafile.inputs).filter((input) =>
    /node_modules[\\/](ws|pino)[\\/]/.test(input),
  );
  if (nodeOnly.length > 0)
    throw new Error(`The page bundle pulled in Node-only modules: ${nodeOnly.join(', ')}`);
  await build({
    entryPoints: [path.join(sourceDir, 'reset.css')],
    outfile: path.join(outDir, PAGE_FILES.style),
    bundle: true,
    target: TARGET,
    minify: true,
    logLevel: 'silent',
  });
  await copyFile(path.join(sourceDir, 'reset.html'), path.join(outDir, PAGE_FILES.html));
}

if (require.main === module) {
  const [sourceDir = 'page', outDir = 'dist/page'] = process.argv.slice(2);
  buildPage(path.resolve(sourceDir), path.resolve(outDir)).catch((error: unknown) => {
    process.stderr.write(`page build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
