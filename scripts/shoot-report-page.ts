// Screenshot of `kvcpu report --format html` for the README (docs/report-html.png):
//   node --import tsx scripts/shoot-report-page.ts docs/report-html.png [report options...]
// Writes the page with the CLI, opens it from file:// in Debian's Chromium (every other request
// blocked) and saves the first 1280×1000 screen as a PNG. The page is whatever this host (or --root DIR) reports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { packagePath } from '../src/core/package-root.ts';

const [out, ...reportArgs] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node --import tsx scripts/shoot-report-page.ts OUT.png [kvcpu report options]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-shoot-'));
const page = join(dir, 'report.html');
try {
  try {
    execFileSync(process.execPath, [packagePath('bin/kvcpu.js'), 'report', '--format', 'html', '--output', page, ...reportArgs], { stdio: 'inherit' });
  } catch (e) {
    // exit 1 = the report has findings: the page is written all the same
    if ((e as { status?: number }).status !== 1) throw e;
  }
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const p = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await p.route('**/*', (r) => (r.request().url().startsWith('file://') ? r.continue() : r.abort()));
    await p.goto(pathToFileURL(page).href);
    // The first screen (1280×1000): header, the map's top and the side panel, as an admin first sees it.
    await p.screenshot({ path: resolve(out) });
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${resolve(out)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
