import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readHost } from '../../src/host/read-host.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import { KVM_SKIP_REASON, kvmPresent, qemuPresent, removeScratch, startTestGuest, stopAllTestGuests } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

function comm(pid: number, tid: number): string {
  return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
}

describe.skipIf(!qemuPresent)('kvcpu hotplug on real QEMU', () => {
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
  });

  async function plugAndCheck(accel: string, suffix: string): Promise<void> {
    const g = await startTestGuest({ prefix: `hp-${suffix}`, smp: '1,maxcpus=3', accel });
    const r = await runCli(['hotplug', g.name, '--to', '3', '--json']);
    // 3 vCPUs on a host with fewer CPUs: the warning `kvcpu overcommit` would FAIL on (issue 16).
    const hostCpus = (await import('../../src/core/cpulist.ts')).parseCpulist(
      (await import('node:fs')).readFileSync('/sys/devices/system/cpu/online', 'utf8'),
    ).length;
    if (hostCpus < 3)
      expect(r.err).toMatch(/^warning: after hotplug: .* has 3 vCPUs but the host has \d+ online CPUs[^\n]*\(kvcpu overcommit: guest-fits-host FAIL\)\n$/);
    else expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      from: number;
      to: number;
      maxCpus: number;
      added: { cpuIndex: number; tid: number; thread: string }[];
      guestSteps: string[];
    };
    expect(j).toMatchObject({ from: 1, to: 3, maxCpus: 3 });
    expect(j.added.map((x) => x.cpuIndex)).toEqual([1, 2]);
    // The new threads exist in /proc with the name QEMU gives vCPU threads.
    for (const a of j.added) expect(comm(g.pid, a.tid)).toBe(`CPU ${a.cpuIndex}/${suffix.toUpperCase()}`);
    expect(j.guestSteps[0]).toContain('/sys/devices/system/cpu/cpu1/online');
    const snap = await snapshotGuests({ host: readHost(), pids: [g.pid], qmp: false });
    expect(snap.guests[0]!.vcpuCount).toBe(3);

    // Unplug: no guest OS to eject the CPU, QEMU refuses; kvcpu says so clearly.
    const u = await runCli(['hotplug', g.name, '--to', '2']);
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/E_HOTPLUG_UNPLUG_UNSUPPORTED: QEMU refused to unplug vCPU 2/);
    expect(u.err).toMatch(/hint: .*guest OS/);
    const still = await snapshotGuests({ host: readHost(), pids: [g.pid], qmp: false });
    expect(still.guests[0]!.vcpuCount).toBe(3);

    const over = await runCli(['hotplug', g.name, '--to', '4', '--json']);
    expect(JSON.parse(over.out)).toMatchObject({ ok: false, error: { code: 'E_HOTPLUG_MAX' } });
    // Boot vCPUs are never removable.
    const boot = await runCli(['hotplug', String(g.pid), '--to', '1']);
    expect(boot.err).toMatch(/E_HOTPLUG_UNPLUG_UNSUPPORTED|refused to unplug/);
    await g.stop();
  }

  it('TCG: plugs vCPUs from query-hotpluggable-cpus, new CPU n/TCG threads appear; unplug is refused', async () => {
    await plugAndCheck('tcg', 'tcg');
  });

  it('KVM: the same with CPU n/KVM threads', async (ctx) => {
    ctx.skip(!kvmPresent, KVM_SKIP_REASON);
    await plugAndCheck('kvm', 'kvm');
  });
});
