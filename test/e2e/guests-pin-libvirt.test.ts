// Issue 16, pinning libvirt domains: regression tests on real libvirt domains (libvirtd on
// qemu:///system, TCG + qboot). Each case failed on main before the fix; libvirt's own answers
// (virsh vcpupin/emulatorpin/iothreadinfo, dumpxml --inactive) and /proc are the judges.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllDomains, libvirtReachable, startDomain, virsh, type Domain } from '../support/libvirt.ts';
import { runCli } from '../support/run-cli.ts';

const reachable = libvirtReachable();
if (!reachable) console.warn('libvirt pin e2e skipped: libvirtd not reachable on qemu:///system (.ci/run starts it)');
const stateDir = mkdtempSync(join(tmpdir(), 'kvt-pins-state-'));
process.env.KVCPU_STATE_DIR = stateDir;
const online = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
}
function cpusetOf(pid: number, tid: number): string {
  return /^\d+:cpuset:(.*)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/cgroup`, 'utf8'))![1]!;
}
/** vCPU n's thread id, from its `CPU n/TCG` name (libvirt passes debug-threads=on). */
function vcpuTid(pid: number, n: number): number {
  const dir = `/proc/${pid}/task`;
  for (const t of readdirSync(dir)) {
    if (readFileSync(`${dir}/${t}/comm`, 'utf8').trim() === `CPU ${n}/TCG`) return Number(t);
  }
  throw new Error(`no CPU ${n}/TCG thread in ${pid}`);
}
/** `virsh vcpupin DOM [--config]` as {vcpu: cpulist}. */
async function vcpupin(name: string, config = false): Promise<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const line of (await virsh('vcpupin', name, ...(config ? ['--config'] : ['--live']))).split('\n')) {
    const m = /^\s*(\d+)\s+([\d,-]+)\s*$/.exec(line);
    if (m) out[Number(m[1])] = m[2]!;
  }
  return out;
}
async function emulatorpin(name: string): Promise<string> {
  return /\*:\s*([\d,-]+)/.exec(await virsh('emulatorpin', name, '--live'))![1]!;
}
const inactiveXml = (name: string) => virsh('dumpxml', '--inactive', name);
const errorOf = (r: { out: string }) => JSON.parse(r.out).error as { code: string; message: string; hint?: string; details?: Record<string, unknown> };

describe.skipIf(!reachable)('issue 16: pinning libvirt domains (real libvirtd)', () => {
  let tuned: Domain; // persistent, 1 of max 2 vCPUs, one IOThread, <cputune><vcpupin vcpu='0' cpuset='1'/>
  let plain: Domain; // persistent, 2 vCPUs, no <cputune>
  let transient: Domain; // virsh create, <cputune><vcpupin vcpu='0' cpuset='1'/>
  const all = online; // '0-1' here

  beforeAll(async () => {
    [tuned, plain, transient] = await Promise.all([
      startDomain({ name: `kvt-pins-tuned-${process.pid}`, vcpus: 1, maxVcpus: 2, iothreads: 1, cputune: "<vcpupin vcpu='0' cpuset='1'/>" }, true),
      startDomain({ name: `kvt-pins-plain-${process.pid}`, vcpus: 2 }, true),
      startDomain({ name: `kvt-pins-trans-${process.pid}`, vcpus: 1, cputune: "<vcpupin vcpu='0' cpuset='1'/>" }),
    ]);
  });
  afterAll(async () => {
    await destroyAllDomains();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("item 1: re-pins a domain libvirt already pinned (libvirt widens its own cgroup); unpin goes back to libvirt's pin", async () => {
    const t0 = vcpuTid(tuned.pid, 0);
    expect(allowed(tuned.pid, t0)).toBe('1');
    const r = await runCli(['pin', tuned.name, '--vcpu', '0=0', '--via-libvirt', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(JSON.parse(r.out).method).toBe('virsh');
    expect(allowed(tuned.pid, t0)).toBe('0');
    expect((await vcpupin(tuned.name))[0]).toBe('0');
    const u = await runCli(['unpin', tuned.name]);
    expect(u.code, u.out + u.err).toBe(0);
    expect(allowed(tuned.pid, t0)).toBe('1');
    expect((await vcpupin(tuned.name))[0]).toBe('1');
  });

  it('item 1: a transient domain with libvirt pins gets the "--config needs a persistent domain" refusal, before any change', async () => {
    const t0 = vcpuTid(transient.pid, 0);
    const r = await runCli(['pin', transient.name, '--vcpu', '0=0', '--via-libvirt', '--config', '--json']);
    expect(r.code).toBe(2);
    const e = errorOf(r);
    expect(e.code).toBe('E_PIN_INVALID');
    expect(e.message).toMatch(/--config needs a persistent domain; transient: kvt-pins-trans/);
    expect(e.message).not.toMatch(/cgroup cpuset/);
    expect(allowed(transient.pid, t0)).toBe('1');
    expect(await vcpupin(transient.name)).toEqual({ 0: '1' });
  });

  it('item 9: libvirt domains go through libvirt by default (virsh vcpupin shows the pins); --direct warns; no-state hint says virsh', async () => {
    const r = await runCli(['pin', plain.name, '--vcpu', '0=1', '--vcpu', '1=0', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(JSON.parse(r.out).method).toBe('virsh');
    expect(await vcpupin(plain.name)).toEqual({ 0: '1', 1: '0' });
    expect(allowed(plain.pid, vcpuTid(plain.pid, 0))).toBe('1');
    expect((await runCli(['unpin', plain.name])).code).toBe(0);
    expect(await vcpupin(plain.name)).toEqual({ 0: all, 1: all });

    const d = await runCli(['pin', plain.name, '--vcpu', '0=1', '--direct', '--json']);
    expect(d.code, d.out + d.err).toBe(0);
    expect(JSON.parse(d.out).method).not.toMatch(/virsh/);
    expect(d.err).toMatch(/warning: .*libvirt domain pinned directly \(--direct\).*virsh vcpupin/);
    expect(allowed(plain.pid, vcpuTid(plain.pid, 0))).toBe('1');
    expect((await vcpupin(plain.name))[0]).toBe(all); // libvirt was bypassed, as asked
    expect((await runCli(['unpin', plain.name])).code).toBe(0);
    expect(allowed(plain.pid, vcpuTid(plain.pid, 0))).toBe(all);

    const none = await runCli(['unpin', plain.name, '--json']);
    expect(none.code).toBe(2);
    const e = errorOf(none);
    expect(e.code).toBe('E_UNPIN_NO_STATE');
    expect(e.hint).toMatch(new RegExp(`virsh vcpupin ${plain.name} `));
    expect(e.hint).not.toMatch(/taskset -a -p/);
  });

  it('item 6: unpin restores a persistent domain XML exactly: added vcpupin/emulatorpin and the <cputune> go, live pins back', async () => {
    const xmlBefore = await inactiveXml(plain.name);
    expect(xmlBefore).not.toMatch(/<cputune/);
    const liveBefore = await vcpupin(plain.name);
    const r = await runCli(['pin', plain.name, '--vcpu', '0=1', '--emulator', '0', '--config']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(await inactiveXml(plain.name)).toMatch(/<vcpupin vcpu='0' cpuset='1'\/>[\s\S]*<emulatorpin cpuset='0'\/>/);
    const u = await runCli(['unpin', plain.name]);
    expect(u.code, u.out + u.err).toBe(0);
    expect(await inactiveXml(plain.name)).toBe(xmlBefore);
    expect(await vcpupin(plain.name)).toEqual(liveBefore);
    expect(await emulatorpin(plain.name)).toBe(all);
    expect(allowed(plain.pid, plain.pid)).toBe(all);
  });

  it('item 6: a domain with its own <cputune>: its vcpupin keeps its value, an added iothreadpin goes', async () => {
    const xmlBefore = await inactiveXml(tuned.name);
    expect(xmlBefore).toMatch(/<vcpupin vcpu='0' cpuset='1'\/>/);
    const r = await runCli(['pin', tuned.name, '--vcpu', '0=0', '--iothread', '1=0', '--config']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(await inactiveXml(tuned.name)).toMatch(/<iothreadpin iothread='1' cpuset='0'\/>/);
    expect((await runCli(['unpin', tuned.name])).code).toBe(0);
    expect(await inactiveXml(tuned.name)).toBe(xmlBefore);
    expect((await vcpupin(tuned.name))[0]).toBe('1');
  });

  it('pins a vCPU that is not plugged yet through libvirt (live and --config), and unpin takes it back', async () => {
    const xmlBefore = await inactiveXml(tuned.name);
    const r = await runCli(['pin', tuned.name, '--vcpu', '1=0', '--config', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(JSON.parse(r.out).commands).toEqual([`virsh vcpupin ${tuned.name} 1 0 --live --config`]);
    expect((await vcpupin(tuned.name))[1]).toBe('0');
    expect((await vcpupin(tuned.name, true))[1]).toBe('0');
    expect((await runCli(['unpin', tuned.name])).code).toBe(0);
    expect((await vcpupin(tuned.name))[1]).toBe(all);
    expect(await inactiveXml(tuned.name)).toBe(xmlBefore);
  });

  it("item 8: --cgroup never moves a libvirt domain's threads (default, --via-libvirt, --direct): refused with a code", async () => {
    const t0 = vcpuTid(plain.pid, 0);
    const cgBefore = cpusetOf(plain.pid, t0);
    expect(cgBefore).toMatch(/libvirt-qemu\/vcpu0$/);
    for (const extra of [[], ['--via-libvirt'], ['--direct']]) {
      const r = await runCli(['pin', plain.name, '--vcpu', '0=1', '--cgroup', ...extra, '--json']);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(errorOf(r).code).toBe('E_PIN_CGROUP_MANAGED');
      expect(cpusetOf(plain.pid, t0)).toBe(cgBefore);
      expect(allowed(plain.pid, t0)).toBe(all);
    }
    // libvirt still manages the thread.
    await virsh('vcpupin', plain.name, '0', '0', '--live');
    expect(allowed(plain.pid, t0)).toBe('0');
    await virsh('vcpupin', plain.name, '0', all, '--live');
  });

  it('IOThreads by libvirt id or QEMU name; an unknown one names both spellings', async () => {
    const bad = await runCli(['pin', tuned.name, '--iothread', '2=0', '--json']);
    expect(bad.code).toBe(2);
    expect(errorOf(bad)).toMatchObject({ code: 'E_PIN_NO_IOTHREAD', hint: expect.stringMatching(/1 \(QEMU iothread1\)/) });
    for (const id of ['1', 'iothread1']) {
      const r = await runCli(['pin', tuned.name, '--iothread', `${id}=0`]);
      expect(r.code, r.out + r.err).toBe(0);
      expect(await virsh('iothreadinfo', tuned.name)).toMatch(/^\s*1\s+0\s*$/m);
      expect((await runCli(['unpin', tuned.name])).code).toBe(0);
      expect(await virsh('iothreadinfo', tuned.name)).toMatch(new RegExp(`^\\s*1\\s+${all}\\s*$`, 'm'));
    }
  });

  it('a CPU that is not online: one problem naming the online CPUs; a vCPU given twice: E_PIN_DUPLICATE', async () => {
    const beyond = String(Number(online.split(/[-,]/).pop()) + 6);
    const r = await runCli(['pin', plain.name, '--vcpu', `0=${beyond}`, '--emulator', beyond, '--json']);
    expect(r.code).toBe(2);
    const e = errorOf(r);
    expect(e.code).toBe('E_PIN_INVALID');
    // One line per target (the emulator has several threads), each naming the valid CPUs.
    expect(e.details!.problems).toEqual([
      `${plain.name} vcpu 0: CPU ${beyond} is not online (online CPUs: ${online})`,
      `${plain.name} emulator: CPU ${beyond} is not online (online CPUs: ${online})`,
    ]);
    const dup = await runCli(['pin', plain.name, '--vcpu', '0=1', '--vcpu', '0=0', '--json']);
    expect(dup.code).toBe(2);
    expect(errorOf(dup).code).toBe('E_PIN_DUPLICATE');
    expect(await vcpupin(plain.name)).toEqual({ 0: all, 1: all });
  });

  it('item 10: a plan is all or nothing: a refused guest or a guest only partly covered is refused before any change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvt-pins-plan-'));
    try {
      const refusedPlan = join(dir, 'refused.json');
      writeFileSync(
        refusedPlan,
        JSON.stringify({
          kind: 'kvcpu-pin-plan',
          version: 1,
          guests: [{ name: plain.name, vcpus: { 0: '1', 1: '0' }, emulator: null, iothreads: {} }],
          placements: [
            { name: plain.name, fits: true },
            { name: 'big-db', fits: false, failed: 'needs 8 dedicated CPUs, host has 2' },
          ],
        }),
      );
      const r = await runCli(['pin', '--plan', refusedPlan, '--json']);
      expect(r.code).toBe(2);
      expect(errorOf(r)).toMatchObject({ code: 'E_PIN_PLAN_REFUSED', message: expect.stringMatching(/big-db \(needs 8 dedicated CPUs/) });
      expect(await vcpupin(plain.name)).toEqual({ 0: all, 1: all });

      const partialPlan = join(dir, 'partial.json');
      writeFileSync(
        partialPlan,
        JSON.stringify({ kind: 'kvcpu-pin-plan', version: 1, guests: [{ name: plain.name, vcpus: { 0: '1' }, emulator: null, iothreads: {} }] }),
      );
      const p = await runCli(['pin', '--plan', partialPlan, '--json']);
      expect(p.code).toBe(2);
      expect(errorOf(p)).toMatchObject({ code: 'E_PIN_PLAN_PARTIAL', details: { missing: [1] } });
      expect(await vcpupin(plain.name)).toEqual({ 0: all, 1: all });
      const ok = await runCli(['pin', '--plan', partialPlan, '--partial']);
      expect(ok.code, ok.out + ok.err).toBe(0);
      expect(await vcpupin(plain.name)).toEqual({ 0: '1', 1: all });
      expect((await runCli(['unpin', plain.name])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ps takes a guest filter; --refresh-psr reaches libvirt domains through virsh suspend/resume', async () => {
    const r = await runCli(['ps', plain.name, '--refresh-psr', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.err).toBe('');
    const guests = JSON.parse(r.out).guests as { name: string }[];
    expect(guests.map((g) => g.name)).toEqual([plain.name]);
    expect((await virsh('domstate', plain.name)).trim()).toBe('running');
    const missing = await runCli(['ps', `kvt-pins-nosuch-${process.pid}`, '--json']);
    expect(missing.code).toBe(2);
    expect(errorOf(missing).code).toBe('E_GUEST_NOT_FOUND');
  });
});
