// Bundles a TypeScript entry point (gateway/main.ts, gateway/cli/main.ts) with esbuild into a temp file, once per test
// file, so tests can run the real program as a process without a full build. Dependencies stay in node_modules.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

/** The checkout's root. */
export const ROOT = resolve(__dirname, '../..');

const bundles = new Map<string, Promise<string>>();

/** The path of the bundled entry (relative to the root, e.g. 'gateway/cli/main.ts'), built on first use. */
export function bundleEntry(entry: string): Promise<string> {
  let bundled = bundles.get(entry);
  if (bundled === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'oms-bundle-'));
    const outfile = join(dir, basename(entry).replace(/\.ts$/, '.js'));
    // the Redis store reads its Lua scripts from `scripts/` beside its module: in one bundle, beside the bundle
    cpSync(join(ROOT, 'gateway/stores/redis/scripts'), join(dir, 'scripts'), { recursive: true });
    bundled = build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      packages: 'external',
      outfile,
      logLevel: 'silent',
    }).then(() => outfile);
    bundles.set(entry, bundled);
  }
  return bundled;
}

/**
 * Compiles the source folders file by file (as tsc lays out dist/, in milliseconds) into a fresh temporary folder,
 * for a program that starts other files by path (bench/bench.ts forks server-child.js beside it) or runs as a
 * script when it is the main module; resolves with that folder.
 */
export async function compileFolders(folders: readonly string[]): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), 'oms-compiled-'));
  const entryPoints = folders.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => join(ROOT, folder, file)),
  );
  await build({
    entryPoints,
    bundle: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outbase: ROOT,
    outdir,
    logLevel: 'silent',
  });
  // the Redis store reads its Lua scripts beside its module, as npm run build lays them out
  if (folders.includes('gateway')) {
    const scripts = 'gateway/stores/redis/scripts';
    cpSync(join(ROOT, scripts), join(outdir, scripts), { recursive: true });
  }
  return outdir;
}

/** The environment a bundled program needs to find the checkout's node_modules, plus `env`. */
export function processEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env };
}

export interface ProgramRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bundled entry point to its end with `args`, `env` (and `input` on stdin); resolves with its output. */
export async function runProgram(
  entry: string,
  args: readonly string[],
  env: Record<string, string>,
  input = '',
): Promise<ProgramRun> {
  return runFile(await bundleEntry(entry), args, env, input);
}

/** Runs a compiled JavaScript file to its end with `args`, `env` (and `input` on stdin); resolves with its output. */
export function runFile(
  path: string,
  args: readonly string[],
  env: Record<string, string>,
  input = '',
): Promise<ProgramRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [path, ...args], {
      env: processEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
