// Real-browser support: Debian's headless Chromium driven by playwright-core (never a browser download), the page
// built once per test file, and screenshots saved under artifacts/screenshots for a human to look at.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { buildPage } from '../../page/build';

/** Debian's chromium package; .ci/run installs it when missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // CI runs as root in a container, where Chromium's sandbox cannot start
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const ROOT = path.resolve(__dirname, '..', '..');
export const SCREENSHOT_DIR = path.join(ROOT, 'artifacts', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export interface BuiltPage {
  /** For GatewayDeps.pageDir. */
  readonly dir: string;
  remove(): void;
}

/** Builds page/ into a fresh temporary folder, as `npm run build` builds it into dist/page. */
export async function buildTestPage(): Promise<BuiltPage> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oms-reset-page-'));
  await buildPage(path.join(ROOT, 'page'), dir);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Saves a screenshot as artifacts/screenshots/<name>.png (git-ignored): the element `around` with a margin of
 * the page's background, or the whole page when `around` is null.
 */
export async function screenshot(page: Page, name: string, around: string | null = '#app'): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  const box = around === null ? null : await page.locator(around).boundingBox();
  const margin = 32;
  const clip =
    box === null
      ? undefined
      : {
          x: Math.max(0, box.x - margin),
          y: Math.max(0, box.y - margin),
          width: box.width + 2 * margin,
          height: box.height + 2 * margin,
        };
  await page.screenshot({ path: file, fullPage: true, clip, animations: 'disabled', caret: 'hide' });
  return file;
}
