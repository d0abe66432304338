import { describe, expect, it } from 'vitest';
import { assessOvercommit, checkVcpusFitHost } from './assess-overcommit.ts';
import { parseQemuCmdline } from './parse-qemu-cmdline.ts';
import { computeTopRows } from './top-rates.ts';
import { guest, snapshot } from './fixtures.test-helpers.ts';

describe('assessOvercommit', () => {
  it('passes a host within the ratio', () => {
    const r = assessOvercommit(snapshot([guest(100, 'a', 2), guest(200, 'b', 4)]), [0, 1, 2, 3], 4);
    expect(r).toMatchObject({ verdict: 'PASS', hostCpus: 4, guestVcpus: 6, ratio: 1.5 });
  });
  it('fails a guest with more vCPUs than host CPUs (the seed rule)', () => {
    const r = assessOvercommit(snapshot([guest(100, 'big', 3)]), [0, 1], 4);
    expect(r.verdict).toBe('FAIL');
    expect(r.guests[0]!.oversized).toBe(true);
    expect(r.checks.find((c) => c.id === 'guest-fits-host')!.status).toBe('FAIL');
  });
  it('fails above the ratio and respects a user ratio', () => {
    const gs = [guest(100, 'a', 4), guest(200, 'b', 4), guest(300, 'c', 4)];
    expect(assessOvercommit(snapshot(gs), [0, 1, 2, 3], 4).verdict).toBe('PASS');
    expect(assessOvercommit(snapshot(gs), [0, 1, 2, 3], 2).verdict).toBe('FAIL');
  });
  it('finds a pCPU pinned exclusively by two guests', () => {
    const a = guest(100, 'a', 2, { affinity: (i) => String(i) });
    const b = guest(200, 'b', 1, { affinity: () => '1' });
    const r = assessOvercommit(snapshot([a, b]), [0, 1, 2, 3]);
    expect(r.doublyClaimed).toEqual([{ cpu: 1, guests: ['a (100)', 'b (200)'] }]);
    expect(r.verdict).toBe('FAIL');
  });
  it('counts vCPU threads per pCPU by psr and warns on stacked runnable vCPUs', () => {
    const a = guest(100, 'a', 2, { psr: () => 1, state: 'R' });
    const r = assessOvercommit(snapshot([a]), [0, 1]);
    expect(r.perCpu).toEqual([
      { cpu: 0, vcpuThreads: 0, running: 0 },
      { cpu: 1, vcpuThreads: 2, running: 2 },
    ]);
    expect(r.verdict).toBe('WARN');
  });
});

describe('checkVcpusFitHost: the one vCPUs-vs-host rule', () => {
  it('FAILs present vCPUs above the host, WARNs a maxcpus above it, is silent otherwise', () => {
    expect(checkVcpusFitHost({ vcpus: 2, maxVcpus: 2, hostCpus: 2 })).toEqual([]);
    const [over] = checkVcpusFitHost({ vcpus: 3, maxVcpus: 4, hostCpus: 2, guest: 'g' });
    expect(over).toMatchObject({ id: 'guest-fits-host', status: 'FAIL' });
    expect(over!.message).toBe('g has 3 vCPUs but the host has 2 online CPUs: its vCPUs time-slice against each other (lock-holder preemption)');
    const [head] = checkVcpusFitHost({ vcpus: 1, maxVcpus: 4, hostCpus: 2, guest: 'g' });
    expect(head).toMatchObject({ id: 'hotplug-headroom', status: 'WARN' });
    expect(head!.message).toBe('g can be hot-plugged up to 4 vCPUs (maxcpus) but the host has 2 online CPUs: growing it past 2 makes it larger than the host');
  });
  it('overcommit WARNs hot-plug headroom beyond the host with the same words', () => {
    const g = guest(100, 'roomy', 1);
    g.config = parseQemuCmdline(['qemu-system-x86_64', '-name', 'guest=roomy,debug-threads=on', '-smp', '1,maxcpus=4']);
    const r = assessOvercommit(snapshot([g, guest(200, 'small', 1)]), [0, 1], 4);
    const c = r.checks.filter((x) => x.id === 'hotplug-headroom');
    expect(c).toEqual([
      { id: 'hotplug-headroom', status: 'WARN', message: checkVcpusFitHost({ vcpus: 1, maxVcpus: 4, hostCpus: 2, guest: 'roomy (pid 100)' })[0]!.message },
    ]);
    expect(r.verdict).toBe('WARN');
  });
});

describe('pinned pCPUs open to floating vCPUs of other guests', () => {
  it("WARNs when a CPU one guest pinned to is in the affinity of another guest's vCPUs", () => {
    const pinned = guest(100, 'pinned', 1, { affinity: () => '1' });
    const floating = guest(200, 'floating', 2, { affinity: () => '0-3' });
    const apart = guest(300, 'apart', 1, { affinity: () => '2-3' });
    const r = assessOvercommit(snapshot([pinned, floating, apart]), [0, 1, 2, 3], 4);
    expect(r.checks.filter((c) => c.id === 'pinned-cpu-shared')).toEqual([
      { id: 'pinned-cpu-shared', status: 'WARN', message: 'CPU 1 is pinned to vCPUs of pinned (100) but floating vCPUs of floating (200) may run there too' },
    ]);
    // The guest's own floating vCPUs do not count, nor do guests kept off that CPU.
    const own = guest(400, 'own', 2, { affinity: (i) => (i === 0 ? '1' : '0-1') });
    const r2 = assessOvercommit(snapshot([own, apart]), [0, 1, 2, 3], 4);
    expect(r2.checks.find((c) => c.id === 'pinned-cpu-shared')!.status).toBe('PASS');
    expect(r2.verdict).toBe('PASS');
  });
});

describe('computeTopRows', () => {
  it('turns tick, migration and wait deltas into rates', () => {
    const prev = snapshot([guest(100, 'a', 1)], 0);
    const cur = snapshot([guest(100, 'a', 1)], 2000);
    const t = cur.guests[0]!.threads.find((x) => x.role === 'vcpu')!;
    t.cpuTicks = 100; // 1 s of CPU in 2 s
    t.migrations = 4;
    t.waitNs = 0.5e9;
    const [row] = computeTopRows(prev, cur);
    expect(row).toMatchObject({ cpuPct: 50, migrationsPerSec: 2, waitPct: 25, vcpu: 0 });
  });
});
