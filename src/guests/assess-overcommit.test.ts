import { describe, expect, it } from 'vitest';
import { assessOvercommit } from './assess-overcommit.ts';
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
    expect(r.perCpu).toEqual([{ cpu: 0, vcpuThreads: 0, running: 0 }, { cpu: 1, vcpuThreads: 2, running: 2 }]);
    expect(r.verdict).toBe('WARN');
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
