/**
 * Real guest check: boot Linux under QEMU (TCG) with the -smp that kvcpu renders for a plan and
 * compare the guest's own /sys/devices/system/cpu (and /sys/devices/system/node) with the plan:
 * which vCPUs share a package, a die, a core (thread siblings), which are online, present,
 * possible, and which belong to which guest NUMA node.
 *
 * AMD-vendor CPU models hide SMT from the guest (QEMU warns "This family of AMD CPU doesn't
 * support hyperthreading"), so plans with threads > 1 (and the dies plan, whose L3/die leaf 0x1F
 * is Intel's) use qemu64,vendor=GenuineIntel.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCpulist, parseCpulist } from '../../src/core/cpulist.ts';
import { readHost } from '../../src/host/read-host.ts';
import { renderTopology } from '../../src/render/render-topology.ts';
import type { GuestTopology } from '../../src/smp/types.ts';
import { numaQemuArgs } from '../../src/topology/numa-qemu-args.ts';
import { suggestTopology, type SuggestedNumaNode } from '../../src/topology/suggest-topology.ts';
import { qemuAvailable, startQemu } from '../../src/qmp/start-qemu.ts';
import { bootLinuxGuest, ensureLinuxGuest, LinuxGuestUnavailable, summarizeGuestTopology, type LinuxGuestResult } from '../support/linux-guest.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const refHost = resolve(repoRoot, '../shared/reference/hosts/cases/hw-32intel64-2p8co2t+8ve/root');

function topo(p: Partial<GuestTopology> & { sockets: number; cores: number; threads: number; cpus: number; maxcpus: number }): GuestTopology {
  return { drawers: 1, books: 1, dies: 1, clusters: 1, ...p };
}

interface Plan {
  name: string;
  t: GuestTopology;
  cpu: string;
  numa: SuggestedNumaNode[];
}

// Plans: 2 present sockets x 2 cores with 2 hot-pluggable sockets and one guest NUMA node per
// socket (what `topology suggest` gives for vCPUs pinned on two host nodes), 1 socket x 2 cores
// x 2 threads (pinned sibling pairs), 1 socket x 2 dies x 2 cores.
const plans: Plan[] = [
  {
    name: '2 of 4 sockets x 2 cores, 2 NUMA nodes, maxcpus 8',
    t: topo({ sockets: 4, cores: 2, threads: 1, cpus: 4, maxcpus: 8 }),
    cpu: 'qemu64',
    numa: [
      { guestNode: 0, vcpus: '0-1', hostNode: 0, hostCpus: '0-1' },
      { guestNode: 1, vcpus: '2-3', hostNode: 1, hostCpus: '8-9' },
    ],
  },
  { name: '1 socket x 2 cores x 2 threads', t: topo({ sockets: 1, cores: 2, threads: 2, cpus: 4, maxcpus: 4 }), cpu: 'qemu64,vendor=GenuineIntel', numa: [] },
  {
    name: '1 socket x 2 dies x 2 cores',
    t: topo({ sockets: 1, dies: 2, cores: 2, threads: 1, cpus: 4, maxcpus: 4 }),
    cpu: 'qemu64,vendor=GenuineIntel',
    numa: [],
  },
];

/** The rendered `--format qemu` text → QEMU argv (comment lines dropped). */
function qemuArgsOf(text: string): { machine?: string; smp: string } {
  const words = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join(' ')
    .split(/\s+/)
    .filter(Boolean);
  const smp = words[words.indexOf('-smp') + 1];
  const m = words.indexOf('-machine');
  if (!smp) throw new Error(`no -smp in ${text}`);
  return { smp, ...(m >= 0 ? { machine: words[m + 1]! } : {}) };
}

/** Partition of vCPUs 0..cpus-1 by a key, as sorted cpulists (comparable between plan and guest). */
function partition<T>(ids: number[], key: (i: number) => T): string[] {
  const m = new Map<string, number[]>();
  for (const i of ids) {
    const k = JSON.stringify(key(i));
    m.set(k, [...(m.get(k) ?? []), i]);
  }
  return [...m.values()].map((l) => formatCpulist(l)).sort();
}

/** QEMU numbers vCPUs thread-fastest: index = ((socket*dies + die)*cores + core)*threads + thread. */
function planPosition(t: GuestTopology, i: number) {
  return {
    socket: Math.floor(i / (t.dies * t.cores * t.threads)),
    die: Math.floor(i / (t.cores * t.threads)) % t.dies,
    core: Math.floor(i / t.threads) % t.cores,
  };
}

const hasQemu = qemuAvailable();

interface HotpluggableCpu {
  type: string;
  'vcpus-count': number;
  'qom-path'?: string;
  props: { 'node-id'?: number; 'socket-id'?: number; 'die-id'?: number; 'core-id'?: number; 'thread-id'?: number };
}

describe.skipIf(!hasQemu)('rendered qemu args are what QEMU 7.2 builds (-S, no guest)', () => {
  // QEMU itself checks the -smp and NUMA lines: every possible slot (present and hot-pluggable)
  // must land in the planned guest node, with no "not present in any NUMA nodes" warning.
  it.each(plans.filter((p) => p.numa.length > 0 || p.t.maxcpus > p.t.cpus).map((p) => [p.name, p] as const))('%s', async (_n, plan) => {
    const t = plan.t;
    const presentSockets = Math.ceil(t.cpus / (t.dies * t.cores * t.threads));
    const { machine, smp } = qemuArgsOf(renderTopology(t, 'qemu', { machine: 'pc-q35-7.2' }));
    const q = await startQemu({
      args: [
        '-S',
        '-nodefaults',
        '-no-user-config',
        '-display',
        'none',
        '-accel',
        'tcg',
        '-machine',
        machine ?? 'pc-q35-7.2',
        '-cpu',
        plan.cpu,
        '-smp',
        smp,
        '-m',
        '256',
        ...numaQemuArgs(plan.numa, 256, { present: presentSockets, max: t.sockets, dies: t.dies }),
      ],
    });
    try {
      const slots = await q.qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus');
      expect(slots).toHaveLength(t.maxcpus);
      expect(slots.filter((s) => s['qom-path']).length).toBe(t.cpus);
      const nodeOfVcpu = new Map<number, number>();
      for (const n of plan.numa) for (const v of parseCpulist(n.vcpus)) nodeOfVcpu.set(v, n.guestNode);
      for (const s of slots) {
        const sock = s.props['socket-id']!;
        const die = s.props['die-id'] ?? 0;
        const idx = ((sock * t.dies + die) * t.cores + s.props['core-id']!) * t.threads + (s.props['thread-id'] ?? 0);
        const want = idx < t.cpus ? nodeOfVcpu.get(idx) : plan.numa[(sock * t.dies + die) % plan.numa.length]?.guestNode;
        expect(s.props['node-id'], `slot ${JSON.stringify(s.props)}`).toBe(want);
      }
      expect(q.stderr()).not.toMatch(/NUMA/);
    } finally {
      await q.stop();
    }
  });
});

describe.skipIf(!hasQemu)('guest-visible topology (Linux under TCG)', () => {
  let unavailable: string | undefined;
  const results = new Map<string, LinuxGuestResult>();

  beforeAll(async () => {
    try {
      await ensureLinuxGuest();
    } catch (e) {
      if (e instanceof LinuxGuestUnavailable) unavailable = e.message;
      else throw e;
    }
  }, 180_000);

  afterAll(() => {
    // bootLinuxGuest waits for its QEMU to be gone; nothing may be left behind.
    for (const r of results.values()) expect(r.raw).toContain('GUEST-DONE');
  });

  it.skipIf(!existsSync(refHost))('topology suggest gives the first two plans for pinned CPUs on a 2-node SMT host', () => {
    const host = readHost({ root: refHost });
    const a = suggestTopology({ vcpus: 4, host, cpus: parseCpulist('0-1,8-9'), max: 8 });
    expect(a.topology).toMatchObject({ sockets: 4, dies: 1, cores: 2, threads: 1, cpus: 4, maxcpus: 8 });
    expect(a.numa.map((n) => n.vcpus)).toEqual(plans[0]!.numa.map((n) => n.vcpus));
    const b = suggestTopology({ vcpus: 4, host, cpus: parseCpulist('0-1,16-17') });
    expect(b.topology).toMatchObject({ sockets: 1, cores: 2, threads: 2 });
  });

  for (const plan of plans) {
    it(`guest sees ${plan.name}`, async (ctx) => {
      if (unavailable) {
        ctx.skip(`no Linux guest: ${unavailable}`);
        return;
      }
      const t = plan.t;
      const rendered = renderTopology(t, 'qemu', { machine: 'pc-q35-7.2' });
      const { machine, smp } = qemuArgsOf(rendered);
      const presentSockets = Math.ceil(t.cpus / (t.dies * t.cores * t.threads));
      const guest = await bootLinuxGuest({
        smpArgs: ['-smp', smp],
        cpu: plan.cpu,
        machine: machine ?? 'pc-q35-7.2',
        memoryMb: 256,
        extraArgs: numaQemuArgs(plan.numa, 256, { present: presentSockets, max: t.sockets, dies: t.dies }),
        timeoutMs: 110_000,
      });
      results.set(plan.name, guest);
      const ids = Array.from({ length: t.cpus }, (_, i) => i);
      const all = (n: number) => formatCpulist(Array.from({ length: n }, (_, i) => i));

      // Online, present and possible CPUs: cpus present at boot, maxcpus possible.
      expect(guest.online).toBe(all(t.cpus));
      expect(guest.present).toBe(all(t.cpus));
      expect(guest.possible).toBe(all(t.maxcpus));
      expect(guest.cpus.map((c) => c.cpu)).toEqual(ids);

      // Counts as the guest sees them.
      const seen = summarizeGuestTopology(guest.cpus);
      expect(seen).toEqual({ sockets: presentSockets, diesPerSocket: t.dies, coresPerDie: t.cores, threadsPerCore: t.threads, cpus: t.cpus });

      // Exactly which vCPUs share a package, a die, a core.
      const byCpu = new Map(guest.cpus.map((c) => [c.cpu, c]));
      const g = (i: number) => byCpu.get(i)!;
      expect(partition(ids, (i) => g(i).pkg)).toEqual(partition(ids, (i) => planPosition(t, i).socket));
      expect(partition(ids, (i) => [g(i).pkg, g(i).die])).toEqual(partition(ids, (i) => [planPosition(t, i).socket, planPosition(t, i).die]));
      expect(partition(ids, (i) => [g(i).pkg, g(i).die, g(i).core])).toEqual(partition(ids, (i) => planPosition(t, i)));
      for (const i of ids) {
        const first = Math.floor(i / t.threads) * t.threads;
        expect(g(i).siblings, `cpu${i} thread_siblings_list`).toBe(formatCpulist(Array.from({ length: t.threads }, (_, k) => first + k)));
      }

      // Guest NUMA nodes (one node without -numa).
      if (plan.numa.length) expect(guest.nodes).toEqual(plan.numa.map((n) => ({ node: n.guestNode, cpus: n.vcpus })));
      else expect(guest.nodes).toEqual([{ node: 0, cpus: all(t.cpus) }]);
    }, 120_000);
  }
});
