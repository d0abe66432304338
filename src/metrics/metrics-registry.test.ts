import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { packagePath } from '../core/package-root.ts';
import { describe, expect, it } from 'vitest';
import { parseCpulist } from '../core/cpulist.ts';
import { readHost } from '../host/read-host.ts';
import { assessOvercommit } from '../guests/assess-overcommit.ts';
import type { GuestProcess, GuestSnapshot, GuestThread } from '../guests/types.ts';
import type { Sample } from '../app/sampler.ts';
import { createMetricsRegistry } from './metrics-registry.ts';

const promtool = spawnSync('promtool', ['--version']).status === 0;
const host = readHost();
const online = parseCpulist(host.cpus.online);

function thread(tid: number, vcpu: number | null, o: Partial<GuestThread> = {}): GuestThread {
  return {
    tid,
    comm: vcpu === null ? 'qemu-system-x86' : `CPU ${vcpu}/TCG`,
    role: vcpu === null ? 'emulator' : 'vcpu',
    vcpu,
    state: 'S',
    psr: 0,
    psrStale: false,
    affinity: host.cpus.online,
    cpuTicks: 250,
    voluntarySwitches: 1,
    involuntarySwitches: 1,
    migrations: 7,
    runNs: 2_500_000_000,
    waitNs: 500_000_000,
    core: 0,
    siblings: '0',
    node: 0,
    ...o,
  };
}
function guest(pid: number, name: string, threads: GuestThread[]): GuestProcess {
  return {
    pid,
    name,
    startTime: 1,
    binary: 'qemu-system-x86_64',
    vcpuSource: 'thread-names',
    libvirt: false,
    vcpuCount: threads.filter((t) => t.role === 'vcpu').length,
    vcpuCountFrom: 'threads',
    threads,
    config: {
      name,
      debugThreads: true,
      smpCpus: 2,
      maxCpus: 2,
      smp: '2',
      cpuModel: 'qemu64',
      machine: null,
      accel: 'tcg',
      tcgThread: null,
      memoryMiB: 64,
      qmpSockets: [],
      iothreads: [],
      pidfile: null,
      daemonize: true,
    },
  };
}
function sampleOf(guests: GuestProcess[]): Sample {
  const snap: GuestSnapshot = { takenAtMs: 1, ticksPerSecond: 100, guests };
  return {
    seq: 1,
    takenAt: '2026-12-03T12:00:00.000Z',
    takenAtMs: 1,
    durationMs: 1.5,
    host,
    online,
    isolated: [],
    guests: snap,
    overcommit: assessOvercommit(snap, online),
    checks: {
      checks: [
        { id: 'kvm.module', status: 'PASS', summary: '', evidence: [], fix: null },
        { id: 'kvm.usable', status: 'FAIL', summary: '', evidence: [], fix: 'x' },
        { id: 'iommu.enabled', status: 'SKIP', summary: '', evidence: [], fix: null },
      ],
    },
    rates: new Map(),
  };
}

// Hostile names: quotes, backslashes, newlines, a fake metric line, and the same name twice.
const evil = 'vm"x\\y\nkvcpu_fake 1';
const s = sampleOf([
  guest(101, evil, [thread(1011, null), thread(1012, 0, { psr: online.at(-1)!, affinity: String(online.at(-1)) }), thread(1013, 1)]),
  guest(102, 'plain', [thread(1021, 0)]),
  guest(103, 'plain', [thread(1031, 0, { waitNs: null, migrations: null })]),
]);

describe('metrics from a sample', () => {
  const text = () => createMetricsRegistry(() => s, '0.1.0').metrics();

  it("exports every issue metric with the sample's values", async () => {
    const t = await text();
    const esc = 'vm\\"x\\\\y\\nkvcpu_fake 1';
    expect(t).toContain(`kvcpu_guest_vcpus{guest="${esc}"} 2`);
    expect(t).toContain(`kvcpu_vcpu_cpu{guest="${esc}",vcpu="0"} ${online.at(-1)}`);
    expect(t).toContain(`kvcpu_vcpu_pinned{guest="${esc}",vcpu="0"} ${online.length > 1 ? 1 : 0}`);
    expect(t).toContain(`kvcpu_vcpu_pinned{guest="${esc}",vcpu="1"} 0`);
    expect(t).toContain(`kvcpu_vcpu_seconds_total{guest="${esc}",vcpu="1"} 2.5`);
    expect(t).toContain(`kvcpu_vcpu_wait_seconds_total{guest="${esc}",vcpu="1"} 0.5`);
    expect(t).toContain(`kvcpu_vcpu_migrations_total{guest="${esc}",vcpu="1"} 7`);
    // Two guests named "plain": the second is told apart by pid, not merged.
    expect(t).toContain('kvcpu_guest_vcpus{guest="plain"} 1');
    expect(t).toContain('kvcpu_guest_vcpus{guest="plain (pid 103)"} 1');
    expect(t).not.toContain('kvcpu_vcpu_wait_seconds_total{guest="plain (pid 103)"');
    expect(t).toContain(`kvcpu_host_cpus{state="online"} ${online.length}`);
    expect(t).toContain(`kvcpu_overcommit_ratio ${s.overcommit.ratio}`);
    expect(t).toContain('kvcpu_check_status{check="kvm.module"} 0');
    expect(t).toContain('kvcpu_check_status{check="kvm.usable"} 2');
    expect(t).not.toContain('iommu.enabled');
    expect(t).toContain('kvcpu_build_info{version="0.1.0"} 1');
    // The newline in the name never starts a line of its own.
    expect(t.split('\n').some((l) => l.startsWith('kvcpu_fake'))).toBe(false);
  });

  it.skipIf(!promtool)('passes promtool check metrics with no lint warnings (hostile names included)', async () => {
    const out = execFileSync('promtool', ['check', 'metrics'], { input: await text(), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});

describe('deploy/grafana-kvcpu.json', () => {
  it('queries only metrics the agent exports, and uses every issue metric', async () => {
    const names = new Set((await createMetricsRegistry(() => s, '0.1.0').getMetricsAsJSON()).map((m) => m.name));
    const dash = JSON.parse(readFileSync(packagePath('deploy/grafana-kvcpu.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bkvcpu_[a-z_]+/g)].map((m) => m[0]))));
    for (const u of used) expect(names.has(u), u).toBe(true);
    for (const n of [
      'kvcpu_overcommit_ratio',
      'kvcpu_vcpu_wait_seconds_total',
      'kvcpu_vcpu_seconds_total',
      'kvcpu_vcpu_migrations_total',
      'kvcpu_vcpu_cpu',
      'kvcpu_guest_vcpus',
      'kvcpu_vcpu_pinned',
      'kvcpu_check_status',
      'kvcpu_host_cpus',
    ])
      expect(used.has(n), n).toBe(true);
  });
});
