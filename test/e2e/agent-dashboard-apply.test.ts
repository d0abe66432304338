import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { postJson, startTestAgent, TEST_TOKEN, type TestAgent } from '../support/agent.ts';
import { qemuPresent, removeScratch, spinnerElf, startTestGuest, stopAllTestGuests, uniqueGuestName, waitSpinning } from '../support/guests.ts';
import { destroyAllDomains, libvirtReachable, startDomain, virsh } from '../support/libvirt.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

// The dashboard's "Apply this plan" button, end to end in Debian's Chromium: the planner's
// suggestion for the running guests goes through POST /api/v1/pin ({"plan": ...}) and the
// chips move to the planned tiles. Other helpers' guests run on this machine: the agents here
// serve only this file's guests (guestFilter), so the suggestion never touches theirs.
const online = parseCpulist(readHost().cpus.online);
const INTERVAL_MS = 1000;
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-dash-apply-state-'));
process.env.KVCPU_STATE_DIR = stateDir;

interface PlanGuest {
  name: string;
  vcpus: Record<string, string>;
  emulator: string | null;
}
const allowed = (pid: number, tid: number) => /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
const comm = (pid: number, tid: number) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
const vcpu0 = (pid: number) =>
  readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .find((t) => /^CPU 0\//.test(comm(pid, t)))!;
const affinities = (pids: number[]) =>
  pids.map((p) =>
    readdirSync(`/proc/${p}/task`)
      .map((t) => `${t}=${allowed(p, Number(t))}`)
      .sort()
      .join(' '),
  );

describe.skipIf(!qemuPresent || !existsSync(CHROMIUM) || online.length < 2)('dashboard Apply button in Chromium', () => {
  const ours = new Set<number>();
  let agent: TestAgent;
  let readOnly: TestAgent;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const guestFilter = (g: { pid: number }) => ours.has(g.pid);
    agent = await startTestAgent({ intervalMs: INTERVAL_MS, guestFilter });
    readOnly = await startTestAgent({ intervalMs: INTERVAL_MS, token: null, guestFilter });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await readOnly?.stop();
    await stopAllTestGuests();
    await destroyAllDomains();
    removeScratch();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const chipOn = (cpu: string | number, pid: number) => page.locator(`[data-cpu="${cpu}"] .chip[data-pid="${pid}"][data-role="vcpu"][data-vcpu="0"]`);
  /** The suggestion the page shows, after the agent has sampled `pids`. */
  async function pagePlan(a: TestAgent, pids: number[]): Promise<PlanGuest[]> {
    await a.sampler.sampleNow();
    await page.goto(a.url + '/');
    const plan = JSON.parse((await page.locator('#plan-json').textContent({ timeout: 5000 }))!) as { guests: PlanGuest[] };
    expect(plan.guests).toHaveLength(pids.length);
    return plan.guests;
  }
  /** Pin vCPU 0 of each guest away from its planned CPU (API), so Apply has something to move; wait for the chips there. */
  async function moveAway(plan: PlanGuest[], guests: { name: string; pid: number }[]): Promise<void> {
    for (const g of guests) {
      const planned = plan.find((p) => p.name === g.name)!.vcpus['0']!;
      expect(parseCpulist(planned)).toHaveLength(1); // dedicated: one CPU per vCPU on this host
      const other = String(online.find((c) => String(c) !== planned));
      const r = await postJson(agent.port, '/api/v1/pin', { guest: g.name, vcpus: { 0: other } }, TEST_TOKEN);
      expect(r.status, r.body).toBe(200);
      await chipOn(other, g.pid).waitFor({ timeout: 3 * INTERVAL_MS });
    }
  }
  async function clickApplyAndWait(plan: PlanGuest[], guests: { name: string; pid: number }[]): Promise<void> {
    await page.locator('#apply').click();
    const t0 = Date.now();
    for (const g of guests) await chipOn(plan.find((p) => p.name === g.name)!.vcpus['0']!, g.pid).waitFor({ timeout: 2 * INTERVAL_MS });
    expect(Date.now() - t0).toBeLessThanOrEqual(2 * INTERVAL_MS);
    await page.locator('#apply-status', { hasText: /^applied: \d+ thread\(s\) pinned$/ }).waitFor({ timeout: 2 * INTERVAL_MS });
  }

  it('QEMU guests: without the token Apply is refused and nothing changes; with it the plan is applied and the chips move to the planned tiles within two intervals', async () => {
    const gs = await Promise.all([
      startTestGuest({ prefix: 'kvt-agentperf-apa', smp: '1', spin: true }),
      startTestGuest({ prefix: 'kvt-agentperf-apb', smp: '1', spin: true }),
    ]);
    await Promise.all(gs.map((g) => waitSpinning(g, 1)));
    for (const g of gs) ours.add(g.pid);
    const plan = await pagePlan(
      agent,
      gs.map((g) => g.pid),
    );
    expect(plan.map((p) => p.name).sort()).toEqual(gs.map((g) => g.name).sort());
    await moveAway(plan, gs);

    // No token typed: the API refuses (401) and no thread moves.
    const before = affinities(gs.map((g) => g.pid));
    await page.locator('#apply').click();
    await page.locator('#apply-status', { hasText: 'refused (E_UNAUTHORIZED)' }).waitFor({ timeout: 3000 });
    expect(affinities(gs.map((g) => g.pid))).toEqual(before);

    await page.locator('#token').fill(TEST_TOKEN);
    await page.locator('#token').dispatchEvent('change');
    await clickApplyAndWait(plan, gs);
    for (const g of gs) {
      const p = plan.find((x) => x.name === g.name)!;
      expect(allowed(g.pid, vcpu0(g.pid))).toBe(p.vcpus['0']);
      expect(allowed(g.pid, g.pid)).toBe(p.emulator); // the main (emulator) thread
    }
    for (const g of gs) expect((await postJson(agent.port, '/api/v1/unpin', { guest: g.name }, TEST_TOKEN)).status).toBe(200);
    await Promise.all(gs.map((g) => g.stop()));
    for (const g of gs) ours.delete(g.pid);
    expect(pageErrors).toEqual([]);
  });

  it('a read-only agent shows the suggestion without an Apply button or token field, and nothing changes', async () => {
    const g = await startTestGuest({ prefix: 'kvt-agentperf-apro', smp: '1', spin: true });
    ours.add(g.pid);
    const before = affinities([g.pid]);
    await pagePlan(readOnly, [g.pid]);
    expect(await page.locator('#apply').count()).toBe(0);
    expect(await page.locator('#token').count()).toBe(0);
    expect(await page.locator('#side', { hasText: 'Read-only agent' }).count()).toBe(1);
    await page.waitForTimeout(1.5 * INTERVAL_MS); // live refreshes do not bring it back
    expect(await page.locator('#apply').count()).toBe(0);
    expect(affinities([g.pid])).toEqual(before);
    await g.stop();
    ours.delete(g.pid);
  });

  it('libvirt domain: Apply pins through libvirt, the persistent XML gets the <cputune>, the chip moves; unpin takes it back', async (ctx) => {
    if (!libvirtReachable()) ctx.skip(true, 'libvirtd does not answer on qemu:///system');
    const name = uniqueGuestName('kvt-agentperf-dash');
    const dom = await startDomain({ name, vcpus: 1, memoryMiB: 16, kernel: spinnerElf() }, true);
    ours.add(dom.pid);
    const plan = await pagePlan(agent, [dom.pid]);
    await moveAway(plan, [dom]);
    const planned = plan[0]!.vcpus['0']!;
    // The token is still in this tab's sessionStorage; ask for --config.
    expect(await page.locator('#token').inputValue()).toBe(TEST_TOKEN);
    await page.locator('#apply-config').check();
    await clickApplyAndWait(plan, [dom]);
    expect(allowed(dom.pid, vcpu0(dom.pid))).toBe(planned);
    // libvirt knows: its live pins and the persistent (inactive) XML say so.
    expect(await virsh('vcpupin', name, '--live')).toMatch(new RegExp(`^\\s*0\\s+${planned}\\s*$`, 'm'));
    const xml = await virsh('dumpxml', name, '--inactive');
    expect(xml).toMatch(new RegExp(`<cputune>[\\s\\S]*<vcpupin vcpu='0' cpuset='${planned}'/>[\\s\\S]*</cputune>`));
    expect(xml).toContain(`<emulatorpin cpuset='${plan[0]!.emulator}'/>`);
    const u = await postJson(agent.port, '/api/v1/unpin', { guest: name }, TEST_TOKEN);
    expect(u.status, u.body).toBe(200);
    expect(await virsh('dumpxml', name, '--inactive')).not.toContain('<cputune>');
    ours.delete(dom.pid);
    expect(pageErrors).toEqual([]);
  });
});
