// The client as other projects get it: the packed tarball (npm pack), unpacked as npm installs it, imported as
// `oms-gateway/client` from CommonJS, ESM and TypeScript in Node, and bundled for a browser page in Chromium.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { launchBrowser } from '../support/browser';
import { ROOT } from '../support/bundle';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';

const run = promisify(execFile);

// packing runs `npm run build` (prepack); the rest is quick
jest.setTimeout(180_000);

let project: string;
let gw: TestGateway;
let pageServer: Server;
let pageOrigin: string;

/** A project with the tarball unpacked where npm puts it; the client's one dependency, ws, linked from here. */
async function installPackedClient(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'oms-client-pkg-'));
  await run('npm', ['pack', '--pack-destination', dir, '--silent'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error('npm pack wrote no tarball');
  const modules = join(dir, 'project', 'node_modules');
  mkdirSync(modules, { recursive: true });
  await run('tar', ['-xzf', join(dir, tarball), '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'oms-gateway'));
  symlinkSync(join(ROOT, 'node_modules', 'ws'), join(modules, 'ws'), 'dir');
  writeFileSync(join(dir, 'project', 'package.json'), JSON.stringify({ name: 'uses-client', private: true }));
  return join(dir, 'project');
}

beforeAll(async () => {
  project = await installPackedClient();
  const pagePort = await freePort();
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  gw = await startGateway({ ALLOWED_ORIGINS: pageOrigin });
});
afterAll(async () => {
  await gw?.close();
  await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
  if (project) rmSync(join(project, '..'), { recursive: true, force: true });
});

const PROGRAM = `
  const client = await connect(process.argv[2]);
  const pong = await client.ping();
  const refused = await client.call('NoSuchFunction', {}).catch((error) => error.errorcode);
  await client.close();
  console.log(JSON.stringify({ pong, refused, state: client.state }));
`;

async function runNode(file: string, source: string): Promise<unknown> {
  writeFileSync(join(project, file), source);
  const { stdout } = await run(process.execPath, [file, gw.wsUrl], { cwd: project });
  return JSON.parse(stdout);
}

const EXPECTED = { pong: { msg: 'PONG' }, refused: 106, state: 'closed' };

it('works from CommonJS with require("oms-gateway/client")', async () => {
  const source = `const { connect } = require('oms-gateway/client');\n(async () => {${PROGRAM}})();`;
  expect(await runNode('cjs.cjs', source)).toEqual(EXPECTED);
});

it('works from an ES module with import { connect } from "oms-gateway/client"', async () => {
  const source = `import { connect } from 'oms-gateway/client';\n${PROGRAM}`;
  expect(await runNode('esm.mjs', source)).toEqual(EXPECTED);
});

it('gives TypeScript its types, so a wrong call does not compile', async () => {
  writeFileSync(
    join(project, 'typed.ts'),
    [
      "import { connect, OmsCallError } from 'oms-gateway/client';",
      "import type { OmsClient, StandardResponse } from 'oms-gateway/client';",
      'export async function reset(url: string): Promise<StandardResponse> {',
      '  const client: OmsClient = await connect(url, { reconnect: true });',
      "  return client.resetPassword({ UserName: 'trader1' });",
      '}',
      'export const isCallError = (e: unknown): boolean => e instanceof OmsCallError;',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(project, 'wrong.ts'),
    "import { connect } from 'oms-gateway/client';\nvoid connect('ws://x').then((c) => c.resetPassword({ Name: 1 }));\n",
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16'];
  await run(process.execPath, [tsc, ...flags, 'typed.ts'], { cwd: project });
  const wrong = await run(process.execPath, [tsc, ...flags, 'wrong.ts'], { cwd: project }).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
  expect(wrong).toMatch(/wrong\.ts.*error TS2353.*'Name'/);
});

it('bundles for the browser without Node modules, and calls the gateway from Chromium', async () => {
  writeFileSync(
    join(project, 'page.js'),
    `import { connect } from 'oms-gateway/client';
     window.result = (async () => {
       const client = await connect(window.GATEWAY_URL);
       const pong = await client.ping();
       await client.close();
       return pong;
     })();`,
  );
  const bundled = await build({
    entryPoints: [join(project, 'page.js')],
    absWorkingDir: project,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  expect(
    Object.keys(bundled.metafile.inputs).filter((input) => /node_modules[\\/]ws[\\/]/.test(input)),
  ).toEqual([]);
  const script = bundled.outputFiles[0]?.text ?? '';
  const html = `<!doctype html><script>window.GATEWAY_URL = ${JSON.stringify(gw.wsUrl)};</script><script src="/page.js"></script>`;
  pageServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': req.url === '/page.js' ? 'text/javascript' : 'text/html' });
    res.end(req.url === '/page.js' ? script : html);
  });
  await new Promise<void>((resolve) =>
    pageServer.listen(Number(new URL(pageOrigin).port), '127.0.0.1', resolve),
  );
  expect((pageServer.address() as AddressInfo).port).toBe(Number(new URL(pageOrigin).port));
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${pageOrigin}/`);
    expect(await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result)).toEqual({
      msg: 'PONG',
    });
  } finally {
    await browser.close();
  }
});
