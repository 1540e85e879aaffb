// The layers' import rule (eslint.layers.mjs) refuses every back-edge: run with ESLint's own Linter on sources
// that import upwards, in a child process because the rule file is an ES module.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

interface Finding {
  readonly ruleId: string | null;
  readonly message: string;
}

/** What the layer rules say of `code` as the file `filename` (relative to the root). */
async function lint(filename: string, code: string): Promise<Finding[]> {
  const program = `
    import { Linter } from 'eslint';
    import { layerRules } from './eslint.layers.mjs';
    const linter = new Linter({ configType: 'flat' });
    const config = [{ languageOptions: { sourceType: 'module' } }, ...layerRules];
    const messages = linter.verify(process.env.CODE, config, { filename: process.env.FILE });
    process.stdout.write(JSON.stringify(messages.map(({ ruleId, message }) => ({ ruleId, message }))));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', program], {
    cwd: ROOT,
    env: { ...process.env, CODE: code, FILE: join(ROOT, filename) },
  });
  return JSON.parse(stdout) as Finding[];
}

const refused = (findings: Finding[]) => findings.filter((f) => f.ruleId === 'no-restricted-imports');

it.each([
  ['core/x.ts', "import { loadConfig } from '../gateway/config';"],
  ['core/ports/x.ts', "import { createGateway } from '../../gateway/create-gateway';"],
  ['core/x.ts', "import { handlers } from '../handlers';"],
  ['handlers/x.ts', "import { Redis } from '../gateway/stores/redis/redis-store';"],
  ['protocol/x.ts', "import { Services } from '../core/services';"],
  ['client/x.ts', "import { loadConfig } from '../gateway/config';"],
])('refuses the back-edge in %s: %s', async (file, code) => {
  const findings = refused(await lint(file, code));
  expect(findings).toHaveLength(1);
  expect(findings[0]!.message).toMatch(/imports run one way/);
});

it.each([
  ['core/x.ts', "import Redis from 'ioredis';"],
  ['handlers/x.ts', "import { WebSocket } from 'ws';"],
  ['core/x.ts', "import { createServer } from 'node:http';"],
])('keeps sockets and store clients out of %s: %s', async (file, code) => {
  expect(refused(await lint(file, code))).toHaveLength(1);
});

it.each([
  ['gateway/x.ts', "import { handlers } from '../handlers';\nimport { Services } from '../core/services';"],
  [
    'handlers/x.ts',
    "import { sessionIdOf } from '../core/sessions';\nimport { OmsError } from '../protocol/codes';",
  ],
  ['core/x.ts', "import { OmsError } from '../protocol/codes';\nimport { createHash } from 'node:crypto';"],
  ['client/x.ts', "import { MessageType } from '../protocol/frame';"],
])('allows the downward imports of %s', async (file, code) => {
  expect(refused(await lint(file, code))).toEqual([]);
});
