import { existsSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { isKvcpuError } from '../core/errors.ts';
import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import { parseSmp } from '../smp/parse-smp.ts';
import { suggestTopology, type GuestOs, type SuggestTopologyRequest, type TopologySuggestion } from './suggest-topology.ts';
import { mulberry32 } from '../core/seeded-random.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const casesDir = resolve(repoRoot, '../shared/reference/hosts/cases');
const haveCases = existsSync(casesDir);
const hostCache = new Map<string, HostSnapshot>();
function host(name: string): HostSnapshot {
  let h = hostCache.get(name);
  if (!h) {
    h = readHost({ root: resolve(casesDir, name, 'root') });
    hostCache.set(name, h);
  }
  return h;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isKvcpuError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

/** Invariants every suggestion must hold, whatever the host. */
function checkInvariants(req: SuggestTopologyRequest, s: TopologySuggestion): void {
  const t = s.topology;
  expect(t.sockets * t.dies * t.cores * t.threads * t.clusters * t.books * t.drawers).toBe(t.maxcpus);
  expect(t.cpus).toBe(req.vcpus);
  expect(t.maxcpus).toBe(req.max ?? req.vcpus);
  // QEMU 7.2 pc-q35-7.2 accepts the spec and reads back the same topology.
  const back = parseSmp(s.smp, { machine: 'pc-q35-7.2' });
  expect(back.ok && [back.topology.sockets, back.topology.dies, back.topology.cores, back.topology.threads, back.topology.maxcpus]).toEqual([
    t.sockets,
    t.dies,
    t.cores,
    t.threads,
    t.maxcpus,
  ]);
  const os = req.os ?? 'linux';
  if (os === 'windows-10' || os === 'windows-11') expect(t.sockets).toBeLessThanOrEqual(2);
  if (os === 'windows-server') expect(t.sockets).toBeLessThanOrEqual(4);
  expect(s.reasons.length).toBeGreaterThanOrEqual(3);
  if (!req.cpus) {
    expect(t.threads).toBe(1);
    expect(s.pin).toBeNull();
    return;
  }
  // The pin map is a permutation of the pinned CPUs, in vCPU order.
  expect(s.pin!.map((p) => p.vcpu)).toEqual(req.cpus.map((_, i) => i));
  expect([...s.pin!.map((p) => p.hostCpu)].sort((a, b) => a - b)).toEqual([...req.cpus].sort((a, b) => a - b));
  // threads > 1 only on real sibling sets: each guest core (threads consecutive vCPUs) is one whole host core.
  if (t.threads > 1) {
    const groups = req.host.topology.coreGroups;
    for (let v = 0; v < req.vcpus; v += t.threads) {
      const core = formatCpulist(s.pin!.slice(v, v + t.threads).map((p) => p.hostCpu));
      expect(groups).toContain(core);
    }
  }
  // Guest NUMA nodes partition the vCPUs and each maps into one host node.
  if (s.numa.length) {
    const all = s.numa.flatMap((n) => parseCpulist(n.vcpus));
    expect(all).toEqual(req.cpus.map((_, i) => i));
    const nodeOf = new Map(req.host.perCpu.map((r) => [r.cpu, r.node]));
    for (const n of s.numa) {
      for (const v of parseCpulist(n.vcpus)) expect(nodeOf.get(s.pin!.find((p) => p.vcpu === v)!.hostCpu)).toBe(n.hostNode);
    }
  }
}

/** Deterministic PRNG for the generated pinning sets. */
const rng = mulberry32;

describe.skipIf(!haveCases)(`topology suggest over reference hosts (${casesDir})`, () => {
  it('pins whole SMT cores of one socket: threads=2, one socket', () => {
    const h = host('hw-32intel64-2p8co2t+8ve');
    const req = { vcpus: 8, host: h, cpus: parseCpulist('0-3,16-19') };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject({ sockets: 1, dies: 1, cores: 4, threads: 2 });
    expect(s.pin!.slice(0, 4).map((p) => p.hostCpu)).toEqual([0, 16, 1, 17]);
  });

  it('one thread of each core is not SMT: threads=1', () => {
    const h = host('hw-32intel64-2p8co2t+8ve');
    const req = { vcpus: 4, host: h, cpus: parseCpulist('0-3') };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject({ sockets: 1, cores: 4, threads: 1 });
    // half a sibling pair plus a whole pair: still threads=1
    const s2 = suggestTopology({ vcpus: 4, host: h, cpus: parseCpulist('0-1,16,2') });
    expect(s2.topology.threads).toBe(1);
    expect(s2.reasons.join('\n')).toMatch(/not pinned with all their SMT siblings/);
  });

  it('spanning two host NUMA nodes gives one socket and guest node per host node', () => {
    const h = host('hw-32intel64-2p8co2t+8ve');
    const req = { vcpus: 8, host: h, cpus: parseCpulist('0-1,16-17,8-9,24-25') };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject({ sockets: 2, cores: 2, threads: 2 });
    expect(s.numa.map((n) => [n.vcpus, n.hostNode])).toEqual([
      ['0-3', 0],
      ['4-7', 1],
    ]);
  });

  it('EPYC: a socket over two L3 domains gets dies=2', () => {
    const h = host('ul-x86_64-epyc_7451');
    const req = { vcpus: 24, host: h, cpus: parseCpulist('0-11,48-59') };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject({ sockets: 2, dies: 2, cores: 3, threads: 2 });
  });

  it('Windows 10 over four host nodes: 2 sockets, the nodes become dies', () => {
    const h = host('hw-32amd64-4s2n4c-cgroup2');
    const req = { vcpus: 16, host: h, cpus: parseCpulist('0-15'), os: 'windows-10' as GuestOs };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject({ sockets: 2, dies: 2, cores: 4, threads: 1 });
    expect(s.numa).toHaveLength(4);
    const linux = suggestTopology({ ...req, os: 'linux' });
    expect(linux.topology.sockets).toBe(4);
  });

  it('hotplug headroom: whole cores for one socket, whole sockets for several', () => {
    const h = host('hw-32intel64-2p8co2t+8ve');
    const one = suggestTopology({ vcpus: 4, host: h, cpus: parseCpulist('0-1,16-17'), max: 8 });
    expect(one.topology).toMatchObject({ sockets: 1, cores: 4, threads: 2, cpus: 4, maxcpus: 8 });
    expect(one.hotplug).toEqual({ level: 'core', vcpusPerStep: 2, steps: 2 });
    const two = suggestTopology({ vcpus: 8, host: h, cpus: parseCpulist('0-3,8-11'), max: 16 });
    expect(two.topology).toMatchObject({ sockets: 4, cores: 4, threads: 1, cpus: 8, maxcpus: 16 });
    expect(two.hotplug).toEqual({ level: 'socket', vcpusPerStep: 4, steps: 2 });
    expect(codeOf(() => suggestTopology({ vcpus: 8, host: h, cpus: parseCpulist('0-3,8-11'), max: 10 }))).toBe('E_MAX_LAYOUT');
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, cpus: parseCpulist('0-1,16-17'), max: 7 }))).toBe('E_MAX_LAYOUT');
    expect(codeOf(() => suggestTopology({ vcpus: 8, host: h, cpus: parseCpulist('0-3,8-11'), max: 12, os: 'windows-10' }))).toBe('E_MAX_LAYOUT');
  });

  it('unpinned guests: threads=1, one socket while they fit one node, else one per node', () => {
    const h = host('hw-32intel64-2p8co2t+8ve'); // 2 nodes x 16 CPUs
    expect(suggestTopology({ vcpus: 16, host: h }).topology).toMatchObject({ sockets: 1, cores: 16, threads: 1 });
    const big = suggestTopology({ vcpus: 24, host: h });
    expect(big.topology).toMatchObject({ sockets: 2, cores: 12, threads: 1 });
    expect(big.numa).toHaveLength(2);
  });

  it('refuses bad input with stable codes', () => {
    const h = host('hw-16em64t-4s2c2t-offlines'); // online 0-1,3-4,6-12,15
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, cpus: parseCpulist('0-2') }))).toBe('E_CPUS_NOT_ONLINE');
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, cpus: parseCpulist('0-1') }))).toBe('E_CPUS_COUNT_MISMATCH');
    expect(codeOf(() => suggestTopology({ vcpus: 13, host: h }))).toBe('E_VCPUS_EXCEED_HOST');
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, max: 2 }))).toBe('E_MAX_BELOW_VCPUS');
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, max: 400 }))).toBe('E_SMP_TOO_MANY_CPUS');
    expect(codeOf(() => suggestTopology({ vcpus: 4, host: h, max: 400, machine: 'pc-q35-9.0', qemuVersion: '9.0' }))).toBe('no error');
  });

  // Generated: every x86 reference host, random pinned sets made of whole cores, single
  // threads, or both, with every OS. The invariants must hold for all.
  const x86 = haveCases
    ? readdirSync(casesDir).filter((d) => {
        try {
          const h = host(d);
          return h.arch === 'x86_64' && h.perCpu.length > 0;
        } catch {
          return false;
        }
      })
    : [];
  it.each(x86)('invariants on %s', (name) => {
    const h = host(name);
    const r = rng(name.length * 7919);
    const online = parseCpulist(h.cpus.online);
    const oses: GuestOs[] = ['linux', 'windows-10', 'windows-11', 'windows-server'];
    let checked = 0;
    for (let i = 0; i < 30; i++) {
      const os = oses[i % 4]!;
      const mode = i % 3;
      let cpus: number[] | undefined;
      if (mode === 0) {
        // whole cores
        const groups = h.topology.coreGroups.map((g) => parseCpulist(g)).filter((g) => g.every((c) => online.includes(c)));
        const n = 1 + Math.floor(r() * Math.min(8, groups.length));
        const start = Math.floor(r() * (groups.length - n + 1));
        cpus = groups.slice(start, start + n).flat();
      } else if (mode === 1) {
        const n = 1 + Math.floor(r() * Math.min(12, online.length));
        const pool = [...online];
        cpus = Array.from({ length: n }, () => pool.splice(Math.floor(r() * pool.length), 1)[0]!);
      }
      const vcpus = cpus ? cpus.length : 1 + Math.floor(r() * online.length);
      const req: SuggestTopologyRequest = { vcpus, host: h, os, ...(cpus ? { cpus } : {}) };
      const s = suggestTopology(req);
      checkInvariants(req, s);
      if (mode === 0 && h.topology.threadsPerCore > 1 && h.topology.threadsPerCoreMin === h.topology.threadsPerCore)
        expect(s.topology.threads).toBe(h.topology.threadsPerCore);
      checked++;
    }
    expect(checked).toBe(30);
  });
});

/** A small synthetic host (always available): 2 sockets = 2 NUMA nodes, 2 cores x 2 threads each, Linux numbering (siblings k, k+4). */
function syntheticHost(): HostSnapshot {
  const perCpu = Array.from({ length: 8 }, (_, cpu) => {
    const core = cpu % 4;
    const socket = core < 2 ? 0 : 1;
    return {
      cpu,
      online: true,
      socket,
      die: 0,
      cluster: null,
      coreId: core % 2,
      core,
      siblings: `${core},${core + 4}`,
      node: socket,
      l3: socket === 0 ? '0-1,4-5' : '2-3,6-7',
      maxMhz: null,
    };
  });
  return {
    root: '/synthetic',
    arch: 'x86_64',
    cpus: { possible: '0-7', present: '0-7', online: '0-7', offline: '', isolated: null, kernelMax: null },
    cpu: {
      vendor: 'GenuineIntel',
      modelNames: ['x'],
      family: 6,
      model: 85,
      stepping: 4,
      flags: [],
      flagsNotOnAllCpus: [],
      vmxFlags: [],
      hwVirtualization: 'vmx',
      hypervisorFlag: false,
      hybrid: false,
      coreKinds: [],
    },
    topology: {
      sockets: 2,
      dies: null,
      clusters: null,
      cores: 4,
      threadsPerCore: 2,
      threadsPerCoreMin: 2,
      coresPerSocket: 2,
      smt: true,
      packages: [
        { id: 0, cpus: '0-1,4-5' },
        { id: 1, cpus: '2-3,6-7' },
      ],
      coreGroups: ['0,4', '1,5', '2,6', '3,7'],
      l3Domains: ['0-1,4-5', '2-3,6-7'],
    },
    numa: {
      nodes: [
        { id: 0, cpus: '0-1,4-5', memoryKb: null, distances: null },
        { id: 1, cpus: '2-3,6-7', memoryKb: null, distances: null },
      ],
    },
    perCpu,
    warnings: [],
  };
}

describe('topology suggest on a synthetic 2-node SMT host', () => {
  const h = syntheticHost();
  it.each([
    ['0,4', 2, { sockets: 1, cores: 1, threads: 2 }],
    ['0-1', 2, { sockets: 1, cores: 2, threads: 1 }],
    ['0,4,2,6', 4, { sockets: 2, cores: 1, threads: 2 }],
    ['0-1,4-5', 4, { sockets: 1, cores: 2, threads: 2 }],
    ['0-7', 8, { sockets: 2, cores: 2, threads: 2 }],
    ['0-2,4', 4, { sockets: 1, cores: 4, threads: 1 }], // uneven over the nodes
  ] as const)('--cpus %s', (list, vcpus, want) => {
    const req = { vcpus, host: h, cpus: parseCpulist(list) };
    const s = suggestTopology(req);
    checkInvariants(req, s);
    expect(s.topology).toMatchObject(want);
  });
  it('windows-11 keeps 2 sockets; unpinned 8 vCPUs need both nodes', () => {
    const s = suggestTopology({ vcpus: 8, host: h, os: 'windows-11' });
    expect(s.topology).toMatchObject({ sockets: 2, cores: 4, threads: 1 });
    expect(codeOf(() => suggestTopology({ vcpus: 9, host: h }))).toBe('E_VCPUS_EXCEED_HOST');
  });
});
