// npm test's pretest (scripts/check-test-tools.sh), acted out on a machine without the tools: an empty PATH and a
// Chromium path that does not exist. Nothing is installed or removed for real.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/bundle';

const SCRIPT = join(ROOT, 'scripts', 'check-test-tools.sh');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile('/bin/bash', [SCRIPT], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('scripts/check-test-tools.sh', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'oms-tools-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const bare = () => ({ PATH: dir, CHROMIUM_PATH: join(dir, 'no-chromium') });

  it('says nothing and passes when every tool is there', async () => {
    expect(await run({ PATH: process.env.PATH ?? '' })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('stops a user who cannot install, naming the packages and the command to run', async () => {
    const result = await run({ ...bare(), OMS_TEST_TOOLS_UID: '1000' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing: redis-server redis-tools openssl chromium');
    expect(result.stderr).toContain(
      'sudo apt-get update && sudo apt-get install -y redis-server redis-tools openssl chromium',
    );
  });

  it('installs the missing packages with apt-get as root, saying what and why', async () => {
    const log = join(dir, 'apt-get.log');
    const fake = join(dir, 'apt-get');
    writeFileSync(fake, `#!/bin/sh\necho "$@" >> ${log}\n`);
    chmodSync(fake, 0o755);
    const result = await run({ ...bare(), OMS_TEST_TOOLS_UID: '0', OMS_TEST_TOOLS_APT: 'apt-get' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'installing Debian packages the tests need: redis-server redis-tools openssl chromium',
    );
    expect(result.stdout).toContain("chromium: the reset page's tests run in a real browser");
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'update -qq',
      'install -y -qq redis-server redis-tools openssl chromium',
    ]);
  });

  it('does not try apt-get where there is none, even as root', async () => {
    const result = await run({ ...bare(), OMS_TEST_TOOLS_UID: '0', OMS_TEST_TOOLS_APT: 'apt-get' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Install them, then run npm test again');
  });
});
