import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { packagePath } from '../../src/core/package-root.ts';
import { readHost } from '../../src/host/read-host.ts';
import { postJson, startTestAgent, TEST_TOKEN, type TestAgent } from '../support/agent.ts';
import { qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, waitSpinning, type TestGuest } from '../support/guests.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

// Runs in the page (the test tsconfig has no DOM lib).
declare const document: { querySelector(s: string): { textContent: string | null } | null; activeElement: { id: string } | null };
const host = readHost();
const online = parseCpulist(host.cpus.online);
const INTERVAL_MS = 1000;
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-dash-pinstate-'));
process.env.KVCPU_STATE_DIR = stateDir;

describe.skipIf(!qemuPresent || !existsSync(CHROMIUM) || online.length < 2)('dashboard in Debian Chromium (playwright-core)', () => {
  let spin: TestGuest;
  let idle: TestGuest;
  let agent: TestAgent;
  let browser: Browser;
  let page: Page;
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    [spin, idle] = await Promise.all([
      startTestGuest({ prefix: 'kvt-agent-dash-spin', smp: '2', spin: true }),
      startTestGuest({ prefix: 'kvt-agent-dash-idle', smp: '1' }),
    ]);
    await waitSpinning(spin, 2);
    agent = await startTestAgent({ intervalMs: INTERVAL_MS });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (r) => {
      if (!r.url().startsWith(agent.url)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(agent.url + '/');
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await stopAllTestGuests();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const chip = (g: TestGuest, vcpu: number) => page.locator(`[data-cpu] .chip[data-pid="${g.pid}"][data-role="vcpu"][data-vcpu="${vcpu}"]`);

  it('draws one tile per host CPU inside nested topology boxes, with a labelled chip per vCPU of our guests', async () => {
    expect(await page.locator('[data-cpu]').count()).toBe(host.perCpu.length);
    for (const r of host.perCpu) expect(await page.locator(`[data-cpu="${r.cpu}"]`).getAttribute('data-state')).toContain(r.online ? 'online' : 'offline');
    expect(await page.locator('.box.numa [data-cpu]').count()).toBe(host.perCpu.length);
    expect(await page.locator('.box.core [data-cpu]').count()).toBe(host.perCpu.filter((r) => r.online).length);
    for (const [g, n] of [
      [spin, 2],
      [idle, 1],
    ] as const) {
      expect(await page.locator(`[data-cpu] .chip[data-pid="${g.pid}"][data-role="vcpu"]`).count()).toBe(n);
      for (let v = 0; v < n; v++) {
        expect(await chip(g, v).count()).toBe(1);
        expect(await chip(g, v).getAttribute('data-guest')).toBe(g.name);
        expect(await chip(g, v).innerText()).toContain(`${g.name}/vCPU ${v}`);
      }
    }
    expect(await page.locator(`.chip[data-pid="${spin.pid}"][data-role="emulator"]`).count()).toBeGreaterThan(0);
  });

  it('pin a vCPU through the API: its chip moves to the right tile within two intervals (SSE, no reload)', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    for (const target of [online[1]!, online[0]!]) {
      const r = await postJson(agent.port, '/api/v1/pin', { guest: spin.name, vcpus: { 0: String(target) } }, TEST_TOKEN);
      expect(r.status, r.body).toBe(200);
      const t0 = Date.now();
      await page.locator(`[data-cpu="${target}"] .chip[data-pid="${spin.pid}"][data-vcpu="0"]`).waitFor({ timeout: 2 * INTERVAL_MS });
      expect(Date.now() - t0).toBeLessThanOrEqual(2 * INTERVAL_MS);
    }
    expect(navigations).toEqual([]);
  });

  it('selecting a guest (keyboard) outlines its affinity and lists its vCPUs with CPU%, wait%, migrations/s', async () => {
    const button = page.locator(`#sel-${spin.pid}`);
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('#side h2#h-guest', { hasText: spin.name }).waitFor({ timeout: 3 * INTERVAL_MS });
    expect(await page.locator('table.vcpus tbody tr').count()).toBe(2);
    expect(await page.locator('table.vcpus thead').innerText()).toMatch(/CPU%[\s\S]*wait%[\s\S]*migr\/s/);
    // vCPU 0 is pinned to online[0] (last step above), vCPU 1 floats on every CPU: all tiles are in its affinity.
    expect(await page.locator('[data-cpu].aff').count()).toBe(online.length);
    expect(await page.locator('table.vcpus tbody tr[data-vcpu="0"]').innerText()).toContain('pinned');
    expect(await page.locator('table.vcpus tbody tr[data-vcpu="1"]').innerText()).toContain('floating');
    // Rates arrive with the second sample of a thread: a number with a % sign, not a dash.
    await page.waitForFunction(() => /\d%/.test(document.querySelector('table.vcpus tbody tr[data-vcpu="1"]')?.textContent ?? ''), undefined, {
      timeout: 3 * INTERVAL_MS,
    });
    expect(await page.locator('#oc-meter').count()).toBe(1);
    expect(await page.locator('#apply').count()).toBe(1);
    // Focus survives the live refreshes.
    await page.waitForTimeout(INTERVAL_MS * 1.5);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(`sel-${spin.pid}`);
  });

  it('loads nothing from outside the agent, raises no page errors; screenshot saved to docs/', async () => {
    expect(foreign).toEqual([]);
    expect(pageErrors, pageErrors.join('\n')).toEqual([]);
    await page.screenshot({ path: packagePath('docs/dashboard.png'), fullPage: true });
    expect(existsSync(packagePath('docs/dashboard.png'))).toBe(true);
  });
});
