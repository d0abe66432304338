import { baselineCpus, QEMU_FILTERED_FEATURES, type BaselineCpu, type BaselineOptions } from './baseline-cpus.ts';
import { x86Level } from '../cpu-models/x86-levels.ts';
import type { CpuDef } from './cpu-def.ts';
import { effectiveBits } from './decode-cpu.ts';
import { libvirtToQemu } from './feature-names.ts';
import { andBits, bitsKey, bitsToNames, countBits, cpuData, type FeatureBits, minusBits, namesToBits, type X86Map } from './x86-map.ts';

export interface PoolsOptions extends BaselineOptions {
  /** Stop merging at this many pools (never fewer than the number of vendors). */
  maxPools?: number;
  /** Use the fewest pools in which no host loses more than this many features. */
  maxLoss?: number;
}

export interface TradeoffStep {
  pools: number;
  /** Σ over hosts of features lost to their pool's baseline. */
  totalLost: number;
  /** Features lost by the worst-off host. */
  worstLost: number;
  /** The merge that produced this step (null for the starting partition); at most 5 hosts named per side. */
  merged: { a: string[]; b: string[] } | null;
}

export interface Pool {
  vendor: string | null;
  /** Each host with the features (libvirt names) it loses to the pool baseline. */
  hosts: { label: string; lost: number; lostFeatures: string[] }[];
  baseline: BaselineCpu;
  /** Features every host of the pool shares. */
  features: number;
  /** x86-64 level of the pool's baseline (`x86-64-v3`), null for 32-bit models. */
  level: string | null;
}

export interface PoolsPlan {
  pools: Pool[];
  /** From one pool per distinct feature set down to one pool per vendor. */
  tradeoff: TradeoffStep[];
  chosen: number;
  /** Why this number of pools. */
  rule: string;
}

interface Cluster {
  vendor: string;
  /** Indexes into the entries. */
  members: number[];
  common: FeatureBits;
  /** Σ |host features| over the hosts of the members. */
  sizeSum: number;
  /** Hosts in the cluster (Σ entry weights). */
  hosts: number;
}

const lost = (c: Cluster) => c.sizeSum - c.hosts * countBits(c.common);

/**
 * Hosts that share one CPU definition: a fleet has 10,000 hosts of a dozen CPUs, and every
 * quantity the clustering uses (features lost summed over hosts, the worst host) depends on a
 * CPU and how many hosts have it, so each distinct CPU is computed once.
 */
export interface PoolEntry {
  def: CpuDef;
  /** The hosts with this CPU (their labels; at least one). */
  labels: string[];
}

/**
 * Group hosts into migration pools: hosts of different vendors never share a pool; within a
 * vendor, start from one pool per distinct feature set and repeatedly merge the two pools whose
 * merge costs the fewest features summed over their hosts (agglomerative clustering, the cost
 * being each host's features minus the pool's common features). Every merge step is reported
 * so the split-vs-merge trade-off is visible; the chosen partition follows maxPools/maxLoss
 * (default: one pool per vendor, the "one model for all hosts" answer).
 */
export function planPools(x: X86Map, defs: CpuDef[], opts: PoolsOptions = {}): PoolsPlan {
  return planPoolsOf(
    x,
    defs.map((def) => ({ def, labels: [def.label] })),
    opts,
  );
}

/** planPools over hosts grouped by CPU: the same answer as one entry per host. */
export function planPoolsOf(x: X86Map, entries: PoolEntry[], opts: PoolsOptions = {}): PoolsPlan {
  const defs = entries.map((e) => e.def);
  const weight = entries.map((e) => Math.max(1, e.labels.length));
  // Features QEMU cannot give a guest anyway (osxsave, cmt...) are nobody's loss: leave them out.
  const ignore =
    opts.qemuFilter === false
      ? new Uint32Array(x.words)
      : namesToBits(
          x,
          QEMU_FILTERED_FEATURES.filter((f) => x.featureIndex.has(f)),
        );
  // Fitted to a hypervisor (`--hypervisor tcg|kvm`): what that QEMU cannot give a guest is lost on
  // every host alike, so it neither counts as a loss nor steers the grouping.
  const hyp = opts.hypervisor;
  const nonMig = new Set(opts.migratable && hyp ? hyp.nonMigratable : []);
  const hypMask = hyp
    ? namesToBits(
        x,
        hyp.features.filter((f) => x.featureIndex.has(f) && !nonMig.has(f)),
      )
    : null;
  const bits = defs.map((d) => {
    const b = minusBits(cpuData(x, d, 'all'), ignore);
    return hypMask ? andBits(b, hypMask) : b;
  });
  const sizes = bits.map(countBits);
  const vendorOf = (d: CpuDef): string => d.vendor ?? (d.model ? x.modelByName.get(d.model)?.def.vendor : null) ?? '(none)';
  let clusters: Cluster[] = [];
  const byKey = new Map<string, Cluster>();
  defs.forEach((d, i) => {
    const key = `${vendorOf(d)}|${bitsKey(bits[i]!)}`;
    const c = byKey.get(key);
    if (c) {
      c.members.push(i);
      c.sizeSum += sizes[i]! * weight[i]!;
      c.hosts += weight[i]!;
    } else {
      const n: Cluster = { vendor: vendorOf(d), members: [i], common: bits[i]!, sizeSum: sizes[i]! * weight[i]!, hosts: weight[i]! };
      byKey.set(key, n);
      clusters.push(n);
    }
  });
  const worst = (cs: Cluster[]) => Math.max(0, ...cs.flatMap((c) => c.members.map((m) => sizes[m]! - countBits(c.common))));
  const total = (cs: Cluster[]) => cs.reduce((s, c) => s + lost(c), 0);
  // Merge records name at most 5 hosts per side (a 10,000-host fleet would print megabytes).
  const labels = (c: Cluster) => {
    const all: string[] = [];
    for (const m of c.members) {
      for (const l of entries[m]!.labels) {
        if (all.length === 5) break;
        all.push(l);
      }
    }
    return c.hosts > 5 ? [...all, `… ${c.hosts - 5} more`] : all;
  };
  const tradeoff: TradeoffStep[] = [{ pools: clusters.length, totalLost: total(clusters), worstLost: worst(clusters), merged: null }];
  const snapshots: Cluster[][] = [clusters.slice()];
  for (;;) {
    let best: { i: number; j: number; merged: Cluster; delta: number } | null = null;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const a = clusters[i]!;
        const b = clusters[j]!;
        if (a.vendor !== b.vendor) continue;
        const merged: Cluster = {
          vendor: a.vendor,
          members: [...a.members, ...b.members],
          common: andBits(a.common, b.common),
          sizeSum: a.sizeSum + b.sizeSum,
          hosts: a.hosts + b.hosts,
        };
        const delta = lost(merged) - lost(a) - lost(b);
        if (!best || delta < best.delta) best = { i, j, merged, delta };
      }
    }
    if (!best) break;
    const a = clusters[best.i]!;
    const b = clusters[best.j]!;
    clusters = clusters.filter((_, k) => k !== best!.i && k !== best!.j);
    clusters.push(best.merged);
    tradeoff.push({ pools: clusters.length, totalLost: total(clusters), worstLost: worst(clusters), merged: { a: labels(a), b: labels(b) } });
    snapshots.push(clusters.slice());
  }
  let pick = snapshots.length - 1;
  let rule = 'one pool per vendor (fewest pools); use --max-loss or --max-pools to split';
  if (opts.maxLoss !== undefined) {
    pick = 0;
    for (let s = 0; s < snapshots.length; s++) if (tradeoff[s]!.worstLost <= opts.maxLoss) pick = s;
    rule = `fewest pools in which no host loses more than ${opts.maxLoss} feature(s)`;
    if (tradeoff[pick]!.worstLost > opts.maxLoss) rule += ' (impossible: hosts differ more; one pool per feature set)';
  }
  if (opts.maxPools !== undefined) {
    const s = snapshots.findIndex((cs) => cs.length <= opts.maxPools!);
    const idx = s < 0 ? snapshots.length - 1 : s;
    if (opts.maxLoss === undefined || idx > pick) pick = idx;
    rule = opts.maxLoss === undefined ? `at most ${opts.maxPools} pool(s)` : `${rule}, at most ${opts.maxPools} pool(s)`;
    if (snapshots[idx]!.length > opts.maxPools) rule += ` (not possible: ${snapshots[idx]!.length} vendors)`;
  }
  const chosen = snapshots[pick]!;
  const pools = chosen
    .map((c): Pool => {
      const r = baselineCpus(
        x,
        c.members.map((m) => defs[m]!),
        opts,
      );
      return {
        vendor: c.vendor === '(none)' ? null : c.vendor,
        hosts: c.members.flatMap((m) => {
          const lostFeatures = bitsToNames(x, minusBits(bits[m]!, c.common));
          return entries[m]!.labels.map((label) => ({ label, lost: sizes[m]! - countBits(c.common), lostFeatures }));
        }),
        baseline: r.cpu,
        features: countBits(c.common),
        level: x86Level(
          bitsToNames(x, effectiveBits(x, r.cpu))
            .map(libvirtToQemu)
            .filter((f): f is string => f !== null),
        ).name,
      };
    })
    .sort((p, q) => q.features - p.features);
  return { pools, tradeoff, chosen: chosen.length, rule };
}
