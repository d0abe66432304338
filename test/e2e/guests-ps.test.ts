import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHost } from '../../src/host/read-host.ts';
import { snapshotGuests } from '../../src/guests/snapshot-guests.ts';
import type { GuestProcess } from '../../src/guests/types.ts';
import { KVM_SKIP_REASON, kvmPresent, qemuPresent, removeScratch, startTestGuest, stopAllTestGuests, waitSpinning, type TestGuest } from '../support/guests.ts';
import { runCli } from '../support/run-cli.ts';

/**
 * Discovery on real QEMU (TCG here; KVM cases run only where /dev/kvm works): several guests
 * at once, named vCPU/IO threads, thread=single, cross-checked against procps `ps -L`.
 */
describe.skipIf(!qemuPresent)('kvcpu ps / top on real QEMU guests', () => {
  let spin: TestGuest; // 2 spinning vCPUs (the machine has 2 CPUs: no more spinners)
  let single: TestGuest; // thread=single, halted
  let io: TestGuest; // halted, with an iothread, maxcpus > cpus
  const host = readHost();

  beforeAll(async () => {
    [spin, single, io] = await Promise.all([
      startTestGuest({ prefix: 'ps-spin', smp: '2', spin: true }),
      startTestGuest({ prefix: 'ps-single', smp: '3', accel: 'tcg,thread=single' }),
      startTestGuest({ prefix: 'ps-io', smp: '1,maxcpus=3', cpu: 'EPYC', extraArgs: ['-object', 'iothread,id=iot0'] }),
    ]);
    await waitSpinning(spin, 2);
  });
  afterAll(async () => {
    await stopAllTestGuests();
    removeScratch();
  });

  function mine(gs: GuestProcess[], g: TestGuest): GuestProcess {
    const found = gs.find((x) => x.pid === g.pid);
    if (!found) throw new Error(`guest ${g.name} (pid ${g.pid}) not found`);
    return found;
  }

  it('finds every guest with its name, config and classified threads', async () => {
    const snap = await snapshotGuests({ host });
    const a = mine(snap.guests, spin);
    expect(a.name).toBe(spin.name);
    expect(a.config).toMatchObject({ accel: 'tcg', smpCpus: 2, cpuModel: 'qemu64', memoryMiB: 16, qmpSockets: [spin.qmpSocket] });
    expect(a.threads.filter((t) => t.role === 'vcpu').map((t) => [t.vcpu, t.comm])).toEqual([
      [0, 'CPU 0/TCG'],
      [1, 'CPU 1/TCG'],
    ]);
    expect(a.threads.find((t) => t.tid === a.pid)).toMatchObject({ role: 'emulator', detail: 'main' });
    expect(a.threads.find((t) => t.comm === 'IO mon_iothread')?.role).toBe('emulator');

    const s = mine(snap.guests, single);
    const vs = s.threads.filter((t) => t.role === 'vcpu');
    expect(vs).toHaveLength(1);
    expect(vs[0]).toMatchObject({ comm: 'ALL CPUs/TCG', vcpu: null, vcpus: [0, 1, 2] });
    expect(s.vcpuCount).toBe(3);
    expect(s.config.tcgThread).toBe('single');

    const i = mine(snap.guests, io);
    expect(i.config).toMatchObject({ smpCpus: 1, maxCpus: 3, cpuModel: 'EPYC', iothreads: ['iot0'] });
    expect(i.threads.find((t) => t.role === 'iothread')).toMatchObject({ comm: 'IO iot0', iothread: 'iot0' });
    expect(i.vcpuCount).toBe(1);
  });

  it('agrees with procps (ps -L) on TIDs, names and affinity; spinning vCPUs have live psr and CPU time', async () => {
    const snap = await snapshotGuests({ host });
    for (const g of [spin, single, io]) {
      const ours = mine(snap.guests, g)
        .threads.map((t) => `${t.tid} ${t.comm}`)
        .sort();
      const ps = execFileSync('ps', ['-L', '-o', 'tid=,comm=', '-p', String(g.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.trim().replace(/\s+/, ' '))
        .sort();
      expect(ours).toEqual(ps);
    }
    for (const t of mine(snap.guests, spin).threads.filter((x) => x.role === 'vcpu')) {
      expect(t.state).toBe('R');
      expect(t.psr === 0 || t.psr === 1).toBe(true);
      expect(t.cpuTicks).toBeGreaterThan(0);
      expect(t.affinity).toBe(readFileSync(`/proc/${spin.pid}/task/${t.tid}/status`, 'utf8').match(/Cpus_allowed_list:\s*(.*)/)![1]);
      expect(t.node).toBe(0);
    }
  });

  it('kvcpu ps --json has the documented shape; the table lists all guests', async () => {
    const r = await runCli(['ps', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      guests: { pid: number; name: string; threads: { tid: number; role: string; vcpu: number | null; psr: number; affinity: string }[] }[];
    };
    const g = j.guests.find((x) => x.pid === spin.pid)!;
    expect(g.name).toBe(spin.name);
    for (const t of g.threads) {
      expect(['vcpu', 'emulator', 'iothread', 'vhost', 'other']).toContain(t.role);
      expect(typeof t.tid).toBe('number');
      expect(typeof t.affinity).toBe('string');
    }
    const table = await runCli(['ps']);
    for (const x of [spin, single, io]) expect(table.out).toContain(x.name);
    expect(table.out).toMatch(/ALL CPUs\/TCG/);
  });

  it('kvcpu top --iterations shows the spinning vCPUs busy and the halted one idle', async () => {
    const r = await runCli(['top', '--interval', '0.5', '--iterations', '2', '--json']);
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rows: { pid: number; cpuPct: number; vcpu: number }[] });
    expect(lines).toHaveLength(2);
    const rows = lines[1]!.rows.filter((x) => x.pid === spin.pid);
    expect(rows).toHaveLength(2);
    // Two spinners on two CPUs, sharing them with whatever else runs: clearly busy, while a
    // halted guest's vCPU thread is idle.
    const halted = lines[1]!.rows.find((x) => x.pid === single.pid)!;
    expect(halted.cpuPct).toBeLessThan(5);
    for (const row of rows) expect(row.cpuPct).toBeGreaterThan(Math.max(10, halted.cpuPct + 5));
  });

  it('tolerates a guest vanishing while it scans', async () => {
    const victim = await startTestGuest({ prefix: 'ps-vanish', smp: '2' });
    let done = false;
    const stopping = victim.stop().then(() => (done = true));
    // Scan continuously while the guest's threads and process disappear.
    for (let i = 0; !done || i < 5; i++) {
      const snap = await snapshotGuests({ host, qmp: false });
      expect(snap.guests.find((g) => g.pid === spin.pid)).toBeTruthy();
      // snapshotGuests without QMP never leaves the microtask queue: let stop()'s timers run.
      await new Promise((r) => setImmediate(r));
    }
    await stopping;
    const after = await snapshotGuests({ host });
    expect(after.guests.find((g) => g.pid === victim.pid)).toBeUndefined();
  });

  it('without debug-threads: vCPU TIDs come from QMP query-cpus-fast; a busy monitor degrades to "other", fast', async () => {
    const { QmpClient } = await import('../../src/qmp/qmp-client.ts');
    const anon = await startTestGuest({ prefix: 'ps-anon', smp: '2', extraArgs: ['-name', 'debug-threads=off'] });
    const g = mine((await snapshotGuests({ host, pids: [anon.pid] })).guests, anon);
    expect(g.config.debugThreads).toBe(false);
    expect(g.vcpuSource).toBe('qmp');
    const q = await QmpClient.connect(anon.qmpSocket);
    const fast = await q.execute<{ 'cpu-index': number; 'thread-id': number }[]>('query-cpus-fast');
    // While we hold the monitor, kvcpu cannot ask: unnamed threads are "other", not emulator.
    const t0 = performance.now();
    const busy = mine((await snapshotGuests({ host, pids: [anon.pid] })).guests, anon);
    expect(performance.now() - t0).toBeLessThan(3000);
    q.close();
    const vcpus = g.threads.filter((t) => t.role === 'vcpu').map((t) => [t.vcpu, t.tid]);
    expect(vcpus).toEqual(fast.map((c) => [c['cpu-index'], c['thread-id']]));
    for (const t of g.threads) expect(t.comm).toBe('qemu-system-x86');
    expect(busy.vcpuSource).toBe('none');
    expect(busy.threads.filter((t) => t.tid !== anon.pid).every((t) => t.role === 'other')).toBe(true);
    await anon.stop();
  });

  it('KVM guests: CPU n/KVM threads and kvm-nx-lpage-re as a kernel worker', async (ctx) => {
    ctx.skip(!kvmPresent, KVM_SKIP_REASON);
    const k = await startTestGuest({ prefix: 'ps-kvm', smp: '2', accel: 'kvm' });
    try {
      const g = mine((await snapshotGuests({ host })).guests, k);
      expect(g.threads.filter((t) => t.role === 'vcpu').map((t) => t.comm)).toEqual(['CPU 0/KVM', 'CPU 1/KVM']);
      const nx = g.threads.find((t) => t.comm === 'kvm-nx-lpage-re');
      if (nx) expect(nx).toMatchObject({ role: 'other', detail: 'kernel KVM worker' });
    } finally {
      await k.stop();
    }
  });
});
