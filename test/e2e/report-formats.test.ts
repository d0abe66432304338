// `kvcpu report --format html|markdown` against real guests: the CLI (bin/kvcpu.js, a child
// process) writes the page with --output, Debian's Chromium opens it from file:// with every
// non-file request blocked (and counted: there must be none), and the map shows one tile per
// host CPU and one chip per vCPU of our QEMU guest and of our libvirt domain.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePath } from '../../src/core/package-root.ts';
import { readHost } from '../../src/host/read-host.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, waitSpinning, type TestGuest } from '../support/guests.ts';
import { destroyAllDomains, libvirtReachable, startDomain, type Domain } from '../support/libvirt.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

const execFileP = promisify(execFile);
const BIN = packagePath('bin/kvcpu.js');
// Runs in the page (the test tsconfig has no DOM lib).
declare const document: { querySelector(s: string): unknown };
declare function getComputedStyle(e: unknown): { borderTopStyle: string };

async function kvcpu(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await execFileP(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof x.code !== 'number') throw e;
    return { code: x.code, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

describe.skipIf(!qemuPresent)('kvcpu report --format html|markdown with real guests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvcpu-report-formats-'));
  const page = join(dir, 'report.html');
  const host = readHost();
  let guest: TestGuest;
  let domain: Domain | null = null;
  let browser: Browser | undefined;

  beforeAll(async () => {
    guest = await startTestGuest({ prefix: 'kvt-reportfmt-spin', smp: '2', spin: true });
    await waitSpinning(guest, 2);
    if (libvirtReachable()) domain = await startDomain({ name: `kvt-reportfmt-dom-${process.pid}`, vcpus: 2 });
  });
  afterAll(async () => {
    await browser?.close();
    await stopAllTestGuests();
    await destroyAllDomains();
    removeScratch();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the page with --output (nothing on stdout), exit status as `kvcpu report`', async () => {
    const r = await kvcpu(['report', '--format', 'html', '--output', page]);
    expect(r.err).toBe('');
    expect([0, 1]).toContain(r.code);
    expect(r.out).toBe('');
    const html = readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`data-guest="${guest.name}"`);
  });

  it.skipIf(!existsSync(CHROMIUM))('Chromium opens it from file:// with no request but the file: a tile per host CPU, a chip per vCPU', async () => {
    browser = await launchChromium();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const attempted: string[] = [];
    const files: string[] = [];
    await ctx.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) {
        files.push(url);
        await route.continue();
      } else {
        attempted.push(url);
        await route.abort();
      }
    });
    const p = await ctx.newPage();
    const errors: string[] = [];
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const url = pathToFileURL(page).href;
    await p.goto(url, { waitUntil: 'load' });
    expect(files).toEqual([url]);
    expect(attempted).toEqual([]);
    expect(errors).toEqual([]);

    expect(await p.locator('[data-cpu]').count()).toBe(host.perCpu.length);
    for (const r of host.perCpu) await expect(p.locator(`[data-cpu="${r.cpu}"] .cpu-id`).textContent()).resolves.toBe(`CPU ${r.cpu}`);
    // The inlined style sheet applies (tiles have their border); labels are text either way.
    expect(await p.evaluate(() => getComputedStyle(document.querySelector('[data-cpu]')).borderTopStyle)).not.toBe('none');

    const chips = p.locator(`[data-cpu] .chip[data-pid="${guest.pid}"][data-role="vcpu"]`);
    expect(await chips.count()).toBe(2);
    expect((await chips.evaluateAll((es) => es.map((e) => (e as unknown as { getAttribute(n: string): string }).getAttribute('data-vcpu')))).sort()).toEqual([
      '0',
      '1',
    ]);
    for (const t of await chips.allTextContents()) expect(t).toMatch(new RegExp(`^${guest.name}/vCPU [01]`));
    expect(await p.locator(`[data-cpu] .chip[data-guest="${guest.name}"]`).count()).toBeGreaterThanOrEqual(2);
    if (domain) {
      const d = p.locator(`[data-cpu] .chip[data-pid="${domain.pid}"][data-role="vcpu"]`);
      expect(await d.count()).toBe(2);
      expect(await p.locator(`#guests tr[data-guest="${domain.name}"]`).count()).toBe(1);
    }
    // Checks are listed with words, the guests table has our guest.
    expect(await p.locator('#h-checks').count()).toBe(1);
    expect(await p.locator('.checks .verdict').first().textContent()).toMatch(/^(PASS|WARN|FAIL|SKIP)$/);
    expect(await p.locator(`#guests tr[data-guest="${guest.name}"] td`).nth(2).textContent()).toBe('2');
    await ctx.close();
  });

  it('--format markdown prints the guests as table rows and the checks as a list', async () => {
    const r = await kvcpu(['report', '--format', 'markdown', '--only', 'host,checks,guests']);
    expect([0, 1]).toContain(r.code);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^# kvcpu report — /);
    expect(lines).toContain('## Guests and vCPU placement');
    const esc = (s: string) => s.replace(/_/g, '\\_');
    const row = lines.find((l) => l.startsWith(`| ${esc(guest.name)} | ${guest.pid} | 2 | tcg |`));
    expect(row, r.out).toBeDefined();
    expect(row).toMatch(/\| 0→\d+, 1→\d+ \| floating \|$/);
    if (domain) expect(lines.some((l) => l.startsWith(`| ${esc(domain!.name)} | ${domain!.pid} | 2 |`))).toBe(true);
    expect(lines.filter((l) => /^- \*\*(PASS|WARN|FAIL|SKIP)\*\* /.test(l)).length).toBeGreaterThan(10);
    expect(r.out).not.toContain('## Overcommit');
  });
});
