// ENTRYPOINTS_FILE: read and checked with the rest of the configuration, failing with the file and the problem.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../gateway/config';

const dir = mkdtempSync(join(tmpdir(), 'oms-entrypoints-'));

function fileWith(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const load = (path: string) =>
  loadConfig({ OMS_DEV: '1', ENTRYPOINTS_FILE: path, RESET_PAGE_URL: 'https://oms.example/reset' });

describe('ENTRYPOINTS_FILE', () => {
  it('loads each entry with its reset page and optional sender name', () => {
    const path = fileWith(
      'good.json',
      JSON.stringify({
        pilgrim: { resetPageUrl: 'https://pilgrim.example/reset', fromName: 'Pilgrim Payments' },
        'acme_2.eu': { resetPageUrl: 'http://localhost:3000/reset' },
      }),
    );
    const config = load(path);
    expect([...config.entryPoints]).toEqual([
      ['pilgrim', { resetPageUrl: 'https://pilgrim.example/reset', fromName: 'Pilgrim Payments' }],
      ['acme_2.eu', { resetPageUrl: 'http://localhost:3000/reset', fromName: null }],
    ]);
    // the pages the mails link to may call /AP/ResetPassword2 from the browser
    expect(config.allowedOrigins).toEqual([
      'https://oms.example',
      'https://pilgrim.example',
      'http://localhost:3000',
    ]);
  });

  it('leaves ALLOWED_ORIGINS as given when it is set', () => {
    const path = fileWith('one.json', JSON.stringify({ p: { resetPageUrl: 'https://p.example/r' } }));
    const config = loadConfig({
      OMS_DEV: '1',
      ENTRYPOINTS_FILE: path,
      ALLOWED_ORIGINS: 'https://only.example',
    });
    expect(config.allowedOrigins).toEqual(['https://only.example']);
  });

  it('has no entry points without the file', () => {
    expect(loadConfig({ OMS_DEV: '1' }).entryPoints.size).toBe(0);
  });

  it.each([
    ['missing.json', null, /ENTRYPOINTS_FILE .*missing\.json: cannot read it \(ENOENT\)/],
    ['bad.json', '{"pilgrim": ', /ENTRYPOINTS_FILE .*bad\.json: not valid JSON/],
    ['array.json', '[]', /ENTRYPOINTS_FILE .*array\.json: \(top level\): /],
    [
      'url.json',
      JSON.stringify({ pilgrim: { resetPageUrl: 'ftp://pilgrim.example' } }),
      /url\.json: pilgrim\.resetPageUrl: must be an http:\/\/ or https:\/\/ URL/,
    ],
    [
      'fragment.json',
      JSON.stringify({ pilgrim: { resetPageUrl: 'https://pilgrim.example/#x' } }),
      /pilgrim\.resetPageUrl: must not have a #fragment/,
    ],
    [
      'name.json',
      JSON.stringify({ 'no spaces': { resetPageUrl: 'https://x.example' } }),
      /name\.json: no spaces: entry names are 1 to 100 letters/,
    ],
    [
      'extra.json',
      JSON.stringify({ pilgrim: { resetPageUrl: 'https://x.example', colour: 'red' } }),
      /extra\.json: pilgrim: Unrecognized key/,
    ],
  ])('refuses %s with a ConfigError naming the file and the problem', (name, text, message) => {
    const path = text === null ? join(dir, name) : fileWith(name, text);
    expect(() => load(path)).toThrow(ConfigError);
    expect(() => load(path)).toThrow(message);
  });
});
