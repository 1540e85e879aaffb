// The lifecycle helper closes what a test opened, newest first, also when the test fails or a close throws.
// Jest decides what runs after a failed test, so the proof is a real jest run of fixtures/lifecycle.fixture.ts.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAll } from './lifecycle';

interface JestReport {
  testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

/** Runs the fixture in a jest of its own; resolves with its JSON report and the lines its resources wrote. */
async function runFixture(): Promise<{ report: JestReport; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'lifecycle-'));
  try {
    const config = {
      rootDir: process.cwd(),
      roots: ['<rootDir>/tests/support/fixtures'],
      testMatch: ['**/lifecycle.fixture.ts'],
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
    };
    const outputFile = join(dir, 'report.json');
    const jest = spawn(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--config',
        JSON.stringify(config),
        '--json',
        `--outputFile=${outputFile}`,
      ],
      { env: { ...process.env, LIFECYCLE_LOG: join(dir, 'log') }, stdio: 'ignore' },
    );
    const code = await new Promise<number | null>((resolve) => jest.once('exit', resolve));
    // the fixture fails on purpose
    expect(code).toBe(1);
    const report = JSON.parse(await readFile(outputFile, 'utf8')) as JestReport;
    const lines = (await readFile(join(dir, 'log'), 'utf8')).trim().split('\n');
    return { report, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('lifecycle', () => {
  it('closes what each test opened, newest first, after a failed test, and fails a test whose close throws', async () => {
    const { report, lines } = await runFixture();
    const results = report.testResults.flatMap((file) => file.assertionResults);
    expect(results.map((result) => [result.title, result.status])).toEqual([
      ['fails after opening two more', 'failed'],
      ['passes', 'passed'],
      ['opens one whose close throws', 'failed'],
      ['fails while sharing one', 'failed'],
      ['passes while sharing it', 'passed'],
      ['fails with a client open on its gateway', 'failed'],
    ]);
    expect(results[2]!.failureMessages.join('\n')).toContain('b failed to close');
    expect(lines).toEqual([
      'test 1 sees each-1',
      'closed second',
      'closed first',
      'closed each-1',
      'test 2 sees each-2',
      'closed third',
      'closed each-2',
      'closed c',
      'closed b',
      'closed a',
      'closed each-3',
      'test 4 sees all',
      'test 5 sees all',
      'closed all',
      'describe all ends',
      'gateway open',
      'gateway refuses sockets',
      'closed file',
    ]);
  });

  it('closeAll closes every resource though some throw, then fails with all their errors', async () => {
    const closed: string[] = [];
    const resource = (name: string, fails = false) => ({
      close: () => {
        closed.push(name);
        return fails ? Promise.reject(new Error(name)) : Promise.resolve();
      },
    });
    const resources = [resource('a'), resource('b', true), resource('c', true), resource('d')];
    await expect(closeAll(resources)).rejects.toThrow(AggregateError);
    expect(closed).toEqual(['d', 'c', 'b', 'a']);
    expect(resources).toEqual([]);
  });
});
