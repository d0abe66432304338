// libvirt domains end to end: a real libvirtd (started by .ci/run) runs TCG guests; kvcpu finds
// them from /proc, pins through virsh all-or-nothing (live and --config), unpins through virsh,
// and hot-plugs vCPUs with `virsh setvcpus`. libvirt's own answers (virsh vcpupin, emulatorpin,
// iothreadinfo, vcpucount) and /proc must agree with what kvcpu says.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllDomains, libvirtReachable, startDomain, virsh, type Domain } from '../support/libvirt.ts';
import { runCli } from '../support/run-cli.ts';

const reachable = libvirtReachable();
if (!reachable) console.warn('libvirt e2e skipped: libvirtd not reachable on qemu:///system (.ci/run starts it)');
const stateDir = mkdtempSync(join(tmpdir(), 'kvcpu-lv-pinstate-'));
process.env.KVCPU_STATE_DIR = stateDir;

function allowed(pid: number, tid: number): string {
  return /Cpus_allowed_list:\s*(.*)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!;
}

interface PsThread {
  tid: number;
  role: string;
  vcpu: number | null;
  affinity: string;
  comm: string;
}
async function threadsOf(d: Domain): Promise<PsThread[]> {
  const r = await runCli(['ps', '--json']);
  expect(r.code).toBe(0);
  const g = (JSON.parse(r.out).guests as { pid: number; threads: PsThread[] }[]).find((x) => x.pid === d.pid);
  expect(g, `kvcpu ps lists ${d.name}`).toBeDefined();
  return g!.threads;
}

/** `virsh vcpupin DOM [--config]` as {vcpu: cpulist}. */
async function virshVcpupin(name: string, config = false): Promise<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const line of (await virsh('vcpupin', name, ...(config ? ['--config'] : []))).split('\n')) {
    const m = /^\s*(\d+)\s+([\d,-]+)\s*$/.exec(line);
    if (m) out[Number(m[1])] = m[2]!;
  }
  return out;
}
async function virshEmulatorpin(name: string, config = false): Promise<string> {
  return /\*:\s*([\d,-]+)/.exec(await virsh('emulatorpin', name, ...(config ? ['--config'] : [])))![1]!;
}

describe.skipIf(!reachable)('libvirt domains (real libvirtd, QEMU TCG)', () => {
  let transient: Domain; // virsh create: 1 of max 2 vCPUs, one IOThread
  let persistent: Domain; // virsh define + start: 2 vCPUs

  beforeAll(async () => {
    transient = await startDomain({ name: `kvcpu-e2e-lvt-${process.pid}`, vcpus: 1, maxVcpus: 2, iothreads: 1 });
    persistent = await startDomain({ name: `kvcpu-e2e-lvp-${process.pid}`, vcpus: 2 }, true);
  });
  afterAll(async () => {
    await destroyAllDomains();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('kvcpu ps finds both domains with their vCPU, emulator and IOThread threads, marked libvirt', async () => {
    const r = await runCli(['ps', '--json']);
    const guests = JSON.parse(r.out).guests as { pid: number; name: string; libvirt: boolean; vcpus: number; maxCpus: number; threads: PsThread[] }[];
    const t = guests.find((g) => g.pid === transient.pid)!;
    const p = guests.find((g) => g.pid === persistent.pid)!;
    expect(t).toMatchObject({ name: transient.name, libvirt: true, vcpus: 1, maxCpus: 2 });
    expect(p).toMatchObject({ name: persistent.name, libvirt: true, vcpus: 2 });
    expect(t.threads.filter((x) => x.role === 'vcpu').map((x) => x.vcpu)).toEqual([0]);
    expect(t.threads.filter((x) => x.role === 'iothread')).toHaveLength(1);
    expect(
      p.threads
        .filter((x) => x.role === 'vcpu')
        .map((x) => x.vcpu)
        .sort(),
    ).toEqual([0, 1]);
    // Same thread ids libvirt recorded for the vCPUs (its status XML): virsh vcpuinfo agrees on the affinity.
    const info = await virsh('vcpuinfo', persistent.name);
    expect(info.match(/^VCPU:/gm)).toHaveLength(2);
  });

  it('pin --via-libvirt: libvirt and /proc agree; unpin restores through libvirt', async () => {
    const r = await runCli(['pin', transient.name, '--vcpu', '0=1', '--iothread', '1=0', '--emulator', '0', '--via-libvirt', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.method).toBe('virsh');
    expect(out.commands).toEqual(
      [`virsh vcpupin ${transient.name} 0 1 --live`, `virsh iothreadpin ${transient.name} 1 0 --live`, `virsh emulatorpin ${transient.name} 0 --live`].sort(
        (a, b) => out.commands.indexOf(a) - out.commands.indexOf(b),
      ),
    );
    // libvirt lists offline (hot-pluggable) vCPUs too: vCPU 1 keeps the default.
    expect(await virshVcpupin(transient.name)).toEqual({ 0: '1', 1: '0-1' });
    expect(await virshEmulatorpin(transient.name)).toBe('0');
    expect(await virsh('iothreadinfo', transient.name)).toMatch(/^\s*1\s+0\s*$/m);
    const threads = await threadsOf(transient);
    expect(allowed(transient.pid, threads.find((x) => x.role === 'vcpu')!.tid)).toBe('1');
    expect(allowed(transient.pid, threads.find((x) => x.role === 'iothread')!.tid)).toBe('0');
    expect(allowed(transient.pid, transient.pid)).toBe('0');

    const u = await runCli(['unpin', transient.name]);
    expect(u.code, u.out + u.err).toBe(0);
    expect(await virshVcpupin(transient.name)).toEqual({ 0: '0-1', 1: '0-1' });
    expect(await virshEmulatorpin(transient.name)).toBe('0-1');
    for (const t of await threadsOf(transient)) expect(t.affinity, `${t.comm} back to 0-1`).toBe('0-1');
  });

  it('--config persists into the domain XML and unpin puts the XML back; refused on a transient domain', async () => {
    const r = await runCli(['pin', persistent.name, '--vcpu', '0=1', '--vcpu', '1=0', '--via-libvirt', '--config']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(await virshVcpupin(persistent.name)).toEqual({ 0: '1', 1: '0' });
    expect(await virshVcpupin(persistent.name, true)).toEqual({ 0: '1', 1: '0' });
    expect(await virsh('dumpxml', '--inactive', persistent.name)).toMatch(/<vcpupin vcpu=.0. cpuset=.1.\/>/);
    expect((await runCli(['unpin', persistent.name])).code).toBe(0);
    expect(await virshVcpupin(persistent.name, true)).toEqual({ 0: '0-1', 1: '0-1' });
    expect(await virshVcpupin(persistent.name)).toEqual({ 0: '0-1', 1: '0-1' });

    const refused = await runCli(['pin', transient.name, '--vcpu', '0=1', '--via-libvirt', '--config', '--json']);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.out).error.code).toBe('E_PIN_INVALID');
    expect(await virshVcpupin(transient.name)).toEqual({ 0: '0-1', 1: '0-1' });
  });

  it('all or nothing: when a later virsh call fails, the earlier pins of every domain are undone', async () => {
    // Fault injection: a virsh on PATH that refuses emulatorpin and passes everything else to the real one.
    const dir = mkdtempSync(join(tmpdir(), 'kvcpu-virsh-shim-'));
    const real = '/usr/bin/virsh';
    writeFileSync(join(dir, 'virsh'), `#!/bin/sh\ncase " $* " in *" emulatorpin "*) echo "error: injected failure" >&2; exit 1;; esac\nexec ${real} "$@"\n`);
    chmodSync(join(dir, 'virsh'), 0o755);
    const plan = {
      kind: 'kvcpu-pin-plan',
      version: 1,
      guests: [
        { name: persistent.name, vcpus: { 0: '1', 1: '1' }, emulator: null, iothreads: {} },
        { name: transient.name, vcpus: { 0: '1' }, emulator: '1', iothreads: {} },
      ],
    };
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    try {
      const r = await runCli(['pin', '--plan', planFile, '--via-libvirt', '--json']);
      expect(r.code).toBe(2);
      const err = JSON.parse(r.out).error;
      expect(err.code, err.message).toBe('E_PIN_FAILED');
      expect(err.message).toMatch(/injected failure.*rolled back 4 virsh change/s);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await virshVcpupin(persistent.name)).toEqual({ 0: '0-1', 1: '0-1' });
    expect(await virshVcpupin(transient.name)).toEqual({ 0: '0-1', 1: '0-1' });
    for (const d of [persistent, transient]) for (const t of await threadsOf(d)) expect(t.affinity, `${d.name} ${t.comm}`).toBe('0-1');
  });

  it('hotplug through libvirt: a new CPU n/TCG thread; above the maximum or unplug are refused clearly', async () => {
    const r = await runCli(['hotplug', transient.name, '--to', '2', '--json']);
    expect(r.code, r.out + r.err).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({ from: 1, to: 2, maxCpus: 2, action: 'plug' });
    expect(out.added).toHaveLength(1);
    expect(out.added[0]).toMatchObject({ cpuIndex: 1, thread: 'CPU 1/TCG' });
    expect(out.guestSteps.join('\n')).toMatch(/cpu1\/online/);
    expect(
      (await threadsOf(transient))
        .filter((t) => t.role === 'vcpu')
        .map((t) => t.vcpu)
        .sort(),
    ).toEqual([0, 1]);
    expect(await virsh('vcpucount', transient.name)).toMatch(/current\s+live\s+2/);

    const over = await runCli(['hotplug', transient.name, '--to', '3', '--json']);
    expect(over.code).toBe(2);
    expect(JSON.parse(over.out).error.code).toBe('E_HOTPLUG_MAX');
    // No guest OS to eject the CPU (and no ACPI in this domain): libvirt cannot unplug.
    const down = await runCli(['hotplug', transient.name, '--to', '1', '--json']);
    expect(down.code).toBe(2);
    expect(JSON.parse(down.out).error.code).toMatch(/^E_HOTPLUG_UNPLUG_(UNSUPPORTED|PENDING)$/);
    expect((await threadsOf(transient)).filter((t) => t.role === 'vcpu')).toHaveLength(2);
  });

  it('overcommit counts libvirt domains like any guest', async () => {
    const r = await runCli(['overcommit', '--json']);
    const o = JSON.parse(r.out);
    const names = (o.guests as { name: string }[]).map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining([transient.name, persistent.name]));
    expect(o.guestVcpus).toBeGreaterThanOrEqual(4);
  });
});
