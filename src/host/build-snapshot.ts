import { buildLscpuFields } from './lscpu-fields.ts';
import { formatCpulist, hostCpuLimit, parseCpulist, parseCpumask } from '../core/cpulist.ts';
import { identifyCpu, inferArch } from './cpu-identity.ts';
import type { RawCpu, RawHostTree } from './host-tree.ts';
import { parseCpuinfo, type Cpuinfo } from './parse-cpuinfo.ts';
import type { HostSnapshot, HostTopology, NumaNode, PerCpuRow } from './types.ts';

/** Topology of one CPU as sysfs (or, as a last resort, cpuinfo) tells it. */
interface CpuTopo {
  pkg: number | null;
  pkgCpus: number[] | null;
  die: number | null;
  dieCpus: number[] | null;
  cluster: number | null;
  clusterCpus: number[] | null;
  coreId: number | null;
  siblings: number[] | null;
  book: number | null;
  drawer: number | null;
}

/** Disjoint-set over CPU numbers, to turn "shares X with" lists into a partition. */
class Partition {
  private parent = new Map<number, number>();
  add(x: number): void {
    if (!this.parent.has(x)) this.parent.set(x, x);
  }
  find(x: number): number {
    let r = x;
    while (this.parent.get(r) !== r) r = this.parent.get(r)!;
    let c = x;
    while (c !== r) {
      const n = this.parent.get(c)!;
      this.parent.set(c, r);
      c = n;
    }
    return r;
  }
  union(a: number, b: number): void {
    this.add(a);
    this.add(b);
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }
  /** Groups, each sorted, ordered by first member. */
  groups(): number[][] {
    const by = new Map<number, number[]>();
    for (const x of this.parent.keys()) {
      const r = this.find(x);
      const g = by.get(r) ?? [];
      g.push(x);
      by.set(r, g);
    }
    return [...by.values()].map((g) => g.sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
  }
}

function int(v: string | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  const t = v.trim();
  return /^-?\d+$/.test(t) ? Number(t) : null;
}

/** A cpulist file, or its hex mask sibling on kernels without `*_list` files. */
function listOrMask(t: Record<string, string>, limit: number, ...names: string[]): number[] | null {
  for (const n of names) {
    const list = t[`${n}_list`];
    if (list !== undefined) {
      try {
        return parseCpulist(list, { limit });
      } catch {
        /* fall through to the mask */
      }
    }
    const mask = t[n];
    if (mask !== undefined) {
      try {
        return parseCpumask(mask, { limit });
      } catch {
        /* unusable */
      }
    }
  }
  return null;
}

function parseList(text: string | null, warnings: string[], what: string, limit: number): number[] | null {
  if (text === null) return null;
  try {
    return parseCpulist(text, { limit });
  } catch (e) {
    const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    warnings.push(
      (e as { code?: string }).code === 'E_CPULIST_RANGE'
        ? `${what}: CPU number out of range (limit ${limit}, kernel_max + 1) in "${shown}"`
        : `${what}: unparsable cpulist "${shown}"`,
    );
    return null;
  }
}

function topoOf(raw: RawCpu, limit: number): CpuTopo | null {
  const t = raw.topology;
  if (t === null) return null;
  // -1 means "unknown" (s390, POWER LPARs, early RISC-V, sparc): never a real id.
  const id = (name: string) => {
    const v = int(t[name]);
    return v === null || v < 0 ? null : v;
  };
  return {
    pkg: id('physical_package_id'),
    pkgCpus: listOrMask(t, limit, 'package_cpus', 'core_siblings'),
    die: id('die_id'),
    dieCpus: listOrMask(t, limit, 'die_cpus'),
    cluster: id('cluster_id'),
    clusterCpus: listOrMask(t, limit, 'cluster_cpus'),
    coreId: id('core_id'),
    siblings: listOrMask(t, limit, 'thread_siblings', 'core_cpus'),
    book: id('book_id'),
    drawer: id('drawer_id'),
  };
}

/** Old kernels without a topology directory: cpuinfo `physical id` / `core id` (x86), `package`/`core` (LoongArch). */
function topoFromCpuinfo(info: Cpuinfo, cpu: number): CpuTopo | null {
  const rec = info.cpus.find((r) => r.cpu === cpu);
  if (!rec) return null;
  const pkg = int(rec.fields['physical id'] ?? rec.fields['package']);
  const coreId = int(rec.fields['core id'] ?? rec.fields['core']);
  if (pkg === null && coreId === null) return null;
  return {
    pkg: pkg !== null && pkg >= 0 ? pkg : null,
    pkgCpus: null,
    die: null,
    dieCpus: null,
    cluster: null,
    clusterCpus: null,
    coreId,
    siblings: null,
    book: null,
    drawer: null,
  };
}

/** Turn the raw /proc + /sys files into a HostSnapshot (pure: no I/O). */
export function buildHostSnapshot(tree: RawHostTree): HostSnapshot {
  const warnings: string[] = [];
  const info = parseCpuinfo(tree.cpuinfo ?? '');
  const arch = inferArch(info, tree.cpuByteorder);
  // Every CPU number in this tree must be below NR_CPUS (kernel_max + 1): a garbage value in
  // one file is a warning, never a loop or an array sized by the file.
  const limit = hostCpuLimit(tree.kernelMax);
  const sets = cpuSets(tree, info, limit, warnings);
  const { rawByCpu, onlineList, offlineList } = sets;
  const t = cpuTopology(sets, info, limit, warnings);
  const { topo, pkgGroups, coreGroups, hasDie, dieKeys, clusters, l3Domains, threadsPerCore, threadsPerCoreMin, coresPerSocket } = t;
  const { nodes, nodeOf } = numaNodes(tree, rawByCpu, limit, warnings);
  const cpu = cpuIdentity(info, arch, t, onlineList);
  const perCpu = perCpuRows(sets, t, nodeOf);

  const topology: HostTopology = {
    sockets: pkgGroups.length,
    dies: hasDie ? dieKeys.size : null,
    clusters,
    cores: coreGroups.length,
    threadsPerCore,
    threadsPerCoreMin,
    coresPerSocket,
    smt: threadsPerCore > 1,
    packages: pkgGroups.map((g) => ({ id: topo.get(g[0]!)!.pkg, cpus: formatCpulist(g) })),
    coreGroups: coreGroups.map(formatCpulist),
    l3Domains,
  };

  // Known kernel topology lies (README pitfalls 2 and 6): reported as-is, flagged for the admin.
  if (arch === 'riscv64' && threadsPerCore > 1) {
    warnings.push('the kernel reports SMT on RISC-V: early kernels filled thread_siblings wrongly; these harts are most likely independent cores');
  }
  if ((arch === 'aarch64' || arch.startsWith('arm')) && pkgGroups.length > Math.max(1, nodes.length)) {
    warnings.push(
      `${pkgGroups.length} physical_package_id values on ARM without matching NUMA nodes: device-tree kernels number clusters as packages, so this may be one SoC`,
    );
  }

  // cgroup cpuset / affinity of the reading process (README pitfall 10: sysfs shows the whole host).
  const allowedText = tree.selfStatus === null ? null : (/^Cpus_allowed_list:\s*(\S*)/m.exec(tree.selfStatus)?.[1] ?? null);
  const allowedList = parseList(allowedText, warnings, 'Cpus_allowed_list', limit);
  const allowed = allowedList === null ? null : formatCpulist(allowedList);
  if (allowedList !== null && onlineList.some((c) => !allowedList.includes(c))) {
    warnings.push(`this process may only use CPUs ${allowed} of the online ${formatCpulist(onlineList)} (cgroup cpuset or affinity)`);
  }

  const kernelMax = int(tree.kernelMax);
  // Lists passed through as the kernel wrote them: only when they parse within the limit, so
  // every consumer of the snapshot can parse them again without its own guard.
  const kept = (text: string | null, what: string): string | null => (parseList(text, warnings, what, limit) === null ? null : text);
  return {
    root: tree.root,
    arch,
    cpus: {
      possible: kept(tree.possible, 'cpu/possible'),
      present: kept(tree.present, 'cpu/present'),
      online: formatCpulist(onlineList),
      offline: formatCpulist(offlineList),
      isolated: kept(tree.isolated, 'cpu/isolated'),
      kernelMax: kernelMax !== null && kernelMax >= 0 ? kernelMax : null,
      allowed,
    },
    cpu,
    topology,
    numa: { nodes },
    perCpu,
    warnings,
    lscpu: buildLscpuFields({
      firstCpuinfoRecord: info.cpus[0] ? new Map(Object.entries(info.cpus[0].fields)) : null,
      flags: cpu.flags,
      cpus: tree.cpus,
      online: new Set(onlineList),
      hints: tree.virtHints ?? { cpuidSignature: null, xenDir: false, xenCapabilities: null, sysinfo: null, pciDevices: null },
      vulnerabilities: tree.vulnerabilities ?? null,
    }),
  };
}

/** Which CPUs exist and which are online. */
interface CpuSets {
  present: number[];
  rawByCpu: Map<number, RawCpu>;
  onlineSet: Set<number>;
  onlineList: number[];
  offlineList: number[];
}

// --- CPU sets -------------------------------------------------------------------------
function cpuSets(tree: RawHostTree, info: Cpuinfo, limit: number, warnings: string[]): CpuSets {
  // Present CPUs = cpuN directories (README pitfall 3: the `offline` file also lists
  // possible-but-absent CPUs). Without sysfs, fall back to what cpuinfo lists.
  const beyond = tree.cpus.filter((c) => !(c.cpu < limit));
  if (beyond.length > 0) warnings.push(`sys/devices/system/cpu: ${beyond.length} cpuN director${beyond.length === 1 ? 'y' : 'ies'} past kernel_max ignored`);
  const rawCpus = tree.cpus.filter((c) => c.cpu < limit);
  let present: number[] = rawCpus.map((c) => c.cpu);
  const rawByCpu = new Map(rawCpus.map((c) => [c.cpu, c]));
  if (present.length === 0) {
    const fromInfo = info.cpus.map((r) => r.cpu!).filter((c) => c !== null && c >= 0 && c < limit);
    present = fromInfo.length > 0 ? [...new Set(fromInfo)].sort((a, b) => a - b) : info.listedCpus.filter((c) => c >= 0 && c < limit);
    if (present.length === 0) {
      const n = int(info.global['# processors'] ?? info.global['ncpus active']);
      if (n !== null && n > 0 && n <= limit) present = Array.from({ length: n }, (_, i) => i);
      else if (n !== null) warnings.push(`/proc/cpuinfo: processor count ${n} out of range (1-${limit})`);
    }
    if (tree.cpuDir) warnings.push('sys/devices/system/cpu has no cpuN directories: CPUs taken from /proc/cpuinfo');
  }
  let onlineSet: Set<number>;
  const onlineFile = parseList(tree.online, warnings, 'cpu/online', limit);
  if (onlineFile !== null) {
    onlineSet = new Set(onlineFile);
  } else {
    // Old kernels have no global `online` mask: use per-CPU `online` (absent = online, e.g. CPU0).
    onlineSet = new Set(present.filter((c) => (rawByCpu.get(c)?.online ?? '1').trim() !== '0'));
    if (tree.cpuDir) warnings.push('cpu/online is absent (old kernel): online CPUs taken from per-CPU online files');
  }
  const onlineList = [...onlineSet].sort((a, b) => a - b);
  const offlineList = present.filter((c) => !onlineSet.has(c));
  return { present, rawByCpu, onlineSet, onlineList, offlineList };
}

/** Packages, cores, dies, clusters and L3 domains over the online CPUs that have topology. */
interface CpuTopology {
  topo: Map<number, CpuTopo>;
  topoCpus: number[];
  topoSet: Set<number>;
  pkgGroups: number[][];
  pkgIndex: Map<number, number>;
  coreGroups: number[][];
  coreIndex: Map<number, number>;
  hasDie: boolean;
  dieKeys: Set<string>;
  clusters: number | null;
  l3Of: Map<number, number[]>;
  l3Domains: string[];
  threadsPerCore: number;
  threadsPerCoreMin: number;
  coresPerSocket: number | number[];
}

// --- per-CPU topology ---------------------------------------------------------------------
function cpuTopology(sets: CpuSets, info: Cpuinfo, limit: number, warnings: string[]): CpuTopology {
  const { present, rawByCpu, onlineSet, onlineList } = sets;
  const topo = new Map<number, CpuTopo>();
  let usedCpuinfoTopology = false;
  for (const c of present) {
    const raw = rawByCpu.get(c);
    let t = raw ? topoOf(raw, limit) : null;
    if (t === null && onlineSet.has(c)) {
      t = topoFromCpuinfo(info, c);
      if (t !== null) usedCpuinfoTopology = true;
    }
    if (t !== null) topo.set(c, t);
  }
  if (usedCpuinfoTopology) warnings.push('some online CPUs have no sysfs topology directory: used cpuinfo physical id / core id');
  // Topology counts are over online CPUs that have topology (as lscpu and hwloc do).
  const topoCpus = onlineList.filter((c) => topo.has(c));
  const topoSet = new Set(topoCpus);
  const missingTopo = onlineList.filter((c) => !topo.has(c));
  if (missingTopo.length > 0 && topoCpus.length > 0) {
    warnings.push(`online CPUs without topology information: ${formatCpulist(missingTopo)}`);
  }

  // Packages: group by physical_package_id; when it is -1/absent, by package_cpus/core_siblings
  // (README pitfalls 2 and 6: ids are opaque; core_siblings can be per half-package on CoD).
  const pkgPart = new Partition();
  const byPkgId = new Map<number, number>();
  for (const c of topoCpus) {
    const t = topo.get(c)!;
    pkgPart.add(c);
    if (t.pkg !== null) {
      const first = byPkgId.get(t.pkg);
      if (first === undefined) byPkgId.set(t.pkg, c);
      else pkgPart.union(first, c);
    }
  }
  for (const c of topoCpus) {
    const t = topo.get(c)!;
    if (t.pkg !== null) continue;
    for (const s of t.pkgCpus ?? []) if (topoSet.has(s) && topo.get(s)!.pkg === null) pkgPart.union(c, s);
  }
  // CPUs with neither an id nor a sibling mask: one anonymous package.
  const noPkgInfo = topoCpus.filter((c) => topo.get(c)!.pkg === null && topo.get(c)!.pkgCpus === null);
  for (const c of noPkgInfo.slice(1)) pkgPart.union(noPkgInfo[0]!, c);
  const pkgGroups = pkgPart.groups();
  const pkgIndex = new Map<number, number>();
  pkgGroups.forEach((g, i) => g.forEach((c) => pkgIndex.set(c, i)));

  // Cores: the thread-sibling partition (core_id is not unique, README pitfall 1).
  const corePart = new Partition();
  const byCoreKey = new Map<string, number>();
  for (const c of topoCpus) {
    const t = topo.get(c)!;
    corePart.add(c);
    if (t.siblings !== null) {
      for (const s of t.siblings) if (topoSet.has(s)) corePart.union(c, s);
    } else if (t.coreId !== null) {
      const key = `${pkgIndex.get(c)}:${t.coreId}`;
      const first = byCoreKey.get(key);
      if (first === undefined) byCoreKey.set(key, c);
      else corePart.union(first, c);
    }
  }
  const coreGroups = corePart.groups();
  const coreIndex = new Map<number, number>();
  coreGroups.forEach((g, i) => g.forEach((c) => coreIndex.set(c, i)));

  // Dies and clusters.
  const hasDie = topoCpus.some((c) => topo.get(c)!.die !== null);
  const dieKeys = new Set(topoCpus.map((c) => `${pkgIndex.get(c)}:${topo.get(c)!.die}`));
  const clusterGroups = groupBy(
    topoCpus,
    topo,
    (t) => t.clusterCpus,
    (c, t) => (t.cluster === null ? null : `${pkgIndex.get(c)}:${t.cluster}`),
  );
  // Real clusters only where they differ from both cores and dies/packages (x86 reports one per
  // core or an L2 id; arm64 reports the package when firmware has no cluster level).
  const dieCount = hasDie ? dieKeys.size : pkgGroups.length;
  const clusters = clusterGroups !== null && clusterGroups.length !== coreGroups.length && clusterGroups.length !== dieCount ? clusterGroups.length : null;

  // L3 domains (level 3, data or unified), over online CPUs.
  const l3Of = new Map<number, number[]>();
  for (const c of onlineList) {
    const raw = rawByCpu.get(c);
    const l3 = raw?.caches.find((k) => k.level === '3' && k.type !== 'Instruction');
    if (!l3) continue;
    let set: number[] | null = null;
    try {
      set = l3.sharedCpuList !== null ? parseCpulist(l3.sharedCpuList, { limit }) : l3.sharedCpuMap !== null ? parseCpumask(l3.sharedCpuMap, { limit }) : null;
    } catch {
      warnings.push(`cpu${c}: unparsable L3 shared_cpu_list/map`);
    }
    if (set === null) continue;
    const mine = set.filter((s) => onlineSet.has(s));
    if (!mine.includes(c)) mine.push(c);
    l3Of.set(
      c,
      mine.sort((a, b) => a - b),
    );
  }
  const l3Part = new Partition();
  for (const [c, set] of l3Of) {
    l3Part.add(c);
    for (const s of set) if (l3Of.has(s)) l3Part.union(c, s);
  }
  const l3Domains = l3Part.groups().map(formatCpulist);

  // Threads per core and cores per socket.
  const sizes = coreGroups.map((g) => g.length);
  const threadsPerCore = sizes.length ? Math.max(...sizes) : 0;
  const threadsPerCoreMin = sizes.length ? Math.min(...sizes) : 0;
  const coresPerPkg = pkgGroups.map(() => 0);
  for (const g of coreGroups) coresPerPkg[pkgIndex.get(g[0]!)!]!++;
  const coresPerSocket: number | number[] = coresPerPkg.length > 0 && coresPerPkg.every((n) => n === coresPerPkg[0]) ? coresPerPkg[0]! : coresPerPkg;
  return {
    topo,
    topoCpus,
    topoSet,
    pkgGroups,
    pkgIndex,
    coreGroups,
    coreIndex,
    hasDie,
    dieKeys,
    clusters,
    l3Of,
    l3Domains,
    threadsPerCore,
    threadsPerCoreMin,
    coresPerSocket,
  };
}

// --- NUMA -------------------------------------------------------------------------------
function numaNodes(
  tree: RawHostTree,
  rawByCpu: Map<number, RawCpu>,
  limit: number,
  warnings: string[],
): { nodes: NumaNode[]; nodeOf: (c: number) => number | null } {
  const nodeCpus = new Map<number, number[]>();
  const nodes: NumaNode[] = tree.nodes.map((n) => {
    let cpus: number[] | null = parseList(n.cpulist, warnings, `node${n.id}/cpulist`, limit);
    if (cpus === null && n.cpumap !== null) {
      // Old kernels and util-linux dumps have only the hex `cpumap` (README pitfall 5).
      try {
        cpus = parseCpumask(n.cpumap, { limit });
      } catch {
        warnings.push(`node${n.id}/cpumap: unparsable mask`);
      }
    }
    if (cpus === null) cpus = n.cpuLinks.filter((c) => c < limit);
    nodeCpus.set(n.id, cpus);
    const mem = n.meminfo === null ? null : /MemTotal:\s+(\d+)\s*kB/.exec(n.meminfo);
    const dist = n.distance === null ? null : n.distance.split(/\s+/).filter(Boolean).map(Number);
    return {
      id: n.id,
      cpus: formatCpulist(cpus),
      memoryKb: mem ? Number(mem[1]) : null,
      distances: dist && dist.every((d) => Number.isFinite(d)) ? dist : null,
    };
  });
  const nodeOf = (c: number): number | null => {
    for (const n of tree.nodes) if (nodeCpus.get(n.id)!.includes(c)) return n.id;
    // cpuN/nodeK links survive where the node masks do not list the CPU (offline node, README pitfall 11).
    const link = rawByCpu.get(c)?.nodeLinks[0];
    if (link !== undefined) return link;
    // A kernel without NUMA support has no node directory: every CPU is in the one node 0
    // (what numactl, libvirt and hwloc assume).
    return tree.nodeDir ? null : 0;
  };
  return { nodes, nodeOf };
}

// --- identity (needs sysfs for x86 hybrid kinds) -------------------------------------------
function cpuIdentity(info: Cpuinfo, arch: string, t: CpuTopology, onlineList: number[]): HostSnapshot['cpu'] {
  const { topoCpus, topo, coreGroups, coreIndex } = t;
  const x86Kinds = x86HybridKinds(info, arch, topoCpus, topo, coreGroups, coreIndex);
  const ident = identifyCpu(info, arch, x86Kinds);
  const { kindCpus, ...cpu } = ident;
  cpu.coreKinds = kindCpus.map((k) => ({ name: k.name, cpus: formatCpulist(k.cpus) }));
  // One kind for homogeneous machines, so consumers can always iterate kinds.
  if (cpu.coreKinds.length === 0 && cpu.modelNames.length > 0) {
    cpu.coreKinds = [{ name: cpu.modelNames[0]!, cpus: formatCpulist(onlineList) }];
  }
  return cpu;
}

// --- per-CPU rows ------------------------------------------------------------------------
function perCpuRows(sets: CpuSets, t: CpuTopology, nodeOf: (c: number) => number | null): PerCpuRow[] {
  const { present, onlineSet, rawByCpu } = sets;
  const { topo, topoSet, coreIndex, coreGroups, l3Of } = t;
  const perCpu: PerCpuRow[] = present.map((c) => {
    const t = topo.get(c) ?? null;
    const on = onlineSet.has(c);
    const raw = rawByCpu.get(c);
    const khz = int(raw?.maxFreqKhz);
    const row: PerCpuRow = {
      cpu: c,
      online: on,
      socket: t?.pkg ?? null,
      die: t?.die ?? null,
      cluster: t?.cluster ?? null,
      coreId: t?.coreId ?? null,
      core: coreIndex.get(c) ?? null,
      siblings: t?.siblings ? formatCpulist(on ? t.siblings.filter((s) => topoSet.has(s) || s === c) : t.siblings) : null,
      node: nodeOf(c),
      l3: l3Of.has(c) ? formatCpulist(l3Of.get(c)!) : null,
      maxMhz: khz === null || khz <= 0 ? null : khz / 1000,
    };
    if (t?.book !== null && t?.book !== undefined) row.book = t.book;
    if (t?.drawer !== null && t?.drawer !== undefined) row.drawer = t.drawer;
    // Without sysfs sibling lists (old kernels, cpuinfo fallback) the core group is the answer.
    if (row.siblings === null && row.core !== null) row.siblings = formatCpulist(coreGroups[row.core]!);
    return row;
  });
  return perCpu;
}

/** Partition by a sibling mask when present, else by a key; null when neither exists. */
function groupBy(
  cpus: number[],
  topo: Map<number, CpuTopo>,
  mask: (t: CpuTopo) => number[] | null,
  key: (c: number, t: CpuTopo) => string | null,
): number[][] | null {
  const set = new Set(cpus);
  const p = new Partition();
  const firstByKey = new Map<string, number>();
  let any = false;
  for (const c of cpus) {
    const t = topo.get(c)!;
    const m = mask(t);
    const k = key(c, t);
    if (m === null && k === null) continue;
    any = true;
    p.add(c);
    if (m !== null) {
      for (const s of m) if (set.has(s)) p.union(c, s);
    } else if (k !== null) {
      const f = firstByKey.get(k);
      if (f === undefined) firstByKey.set(k, c);
      else p.union(f, c);
    }
  }
  return any ? p.groups() : null;
}

/**
 * Intel hybrid (Alder Lake and later) kinds from sysfs: E-cores (Atom) come in modules of
 * several single-thread cores sharing one L2, which the kernel reports as a cluster
 * (cluster_cpus = the L2 sharing set); P-cores are alone in their cluster. Both kinds
 * present => hybrid. The dumps lack /sys/devices/cpu_core|cpu_atom (README pitfall 8).
 */
function x86HybridKinds(
  info: Cpuinfo,
  arch: string,
  topoCpus: number[],
  topo: Map<number, CpuTopo>,
  coreGroups: number[][],
  coreIndex: Map<number, number>,
): { name: string; cpus: number[] }[] | null {
  if (arch !== 'x86_64' && arch !== 'i686') return null;
  const p: number[] = [];
  const e: number[] = [];
  for (const c of topoCpus) {
    const cl = topo.get(c)!.clusterCpus;
    if (cl === null) return null;
    const coresInCluster = new Set(cl.filter((x) => coreIndex.has(x)).map((x) => coreIndex.get(x)!));
    const myCore = coreGroups[coreIndex.get(c)!]!;
    if (coresInCluster.size > 1 && myCore.length === 1) e.push(c);
    else p.push(c);
  }
  if (p.length === 0 || e.length === 0) return null;
  const model = info.cpus[0]?.fields['model name'] ?? 'x86';
  return [
    { name: `${model} (P-core)`, cpus: p },
    { name: `${model} (E-core)`, cpus: e },
  ];
}
