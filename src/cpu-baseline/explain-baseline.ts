import { guestOsSupport, x86Level } from '../cpu-models/x86-levels.ts';
import { QEMU_FILTERED_FEATURES, type BaselineResult } from './baseline-cpus.ts';
import { libvirtToQemu, qemuToLibvirtName } from './feature-names.ts';
import type { CpuDef } from './cpu-def.ts';
import { decodeCpu, effectiveBits } from './decode-cpu.ts';
import { andBits, bitsKey, bitsToNames, countBits, type FeatureBits, hasBit, minusBits, namesToBits, orBits, type X86Map } from './x86-map.ts';

export interface HostLoss {
  label: string;
  /** Features this host has that the baseline does not give guests (libvirt names). */
  lost: string[];
}

export interface LimitingGroup {
  /** Hosts with this exact feature set. */
  hosts: string[];
  /** Features every other host shares that these hosts lack: what dropping them would win back. */
  wouldGain: string[];
}

export interface HeldBackModel {
  /** A newer model at least one host could run by itself. */
  model: string;
  /** Hosts whose own best model this is. */
  bestFor: string[];
  /** Which features keep the pool from it, and which hosts lack each. */
  missing: { feature: string; lackedBy: string[] }[];
}

export interface BaselineLevel {
  /** x86-64 micro-architecture level of the baseline (0 = 32-bit model), and of the best host. */
  level: number;
  name: string | null;
  bestHostLevel: number;
  /** Features the next level needs (QEMU names) with the hosts lacking each, and what holds
   * each back: hosts lacking it, the hypervisor (--hypervisor), or libvirt's CPU map. */
  nextNeeds: { feature: string; lackedBy: string[]; heldBy: 'hosts' | 'hypervisor' | 'cpu-map' }[];
  /** The hypervisor named by --hypervisor, for the text. */
  hypervisor?: string;
  /** Guest OSes that need a higher level than the baseline gives. */
  wontBoot: string[];
}

export interface BaselineExplanation {
  hosts: number;
  level: BaselineLevel;
  distinctFeatureSets: number;
  perHost: HostLoss[];
  limiting: LimitingGroup[];
  heldBack: HeldBackModel[];
  /** Input caveats (lossy cpuinfo...), deduplicated. */
  notes: string[];
}

interface Group {
  bits: FeatureBits;
  defs: CpuDef[];
}

const short = (labels: string[], max = 3) => (labels.length <= max ? labels : [...labels.slice(0, max), `… ${labels.length - max} more`]);

/**
 * Why the baseline is what it is: what each host loses, which hosts (by distinct feature set)
 * hold the pool back and what removing them would win, and which newer models individual hosts
 * could run, with the features (and the hosts lacking them) that rule those models out.
 */
export function explainBaseline(
  x: X86Map,
  defs: CpuDef[],
  result: BaselineResult,
  opts: {
    ignore?: Iterable<string>;
    /** `--hypervisor`: who else decides what guests get (e.g. "QEMU 7.2.22 (snapshot), kvm"). */
    hypervisor?: string;
  } = {},
): BaselineExplanation {
  // Features QEMU cannot give a guest anyway (osxsave, cmt...) are not "lost" by choosing this baseline.
  const ignore = namesToBits(
    x,
    [...(opts.ignore ?? QEMU_FILTERED_FEATURES)].filter((f) => x.featureIndex.has(f)),
  );
  const eff = orBits(effectiveBits(x, result.cpu), ignore);
  const common = orBits(result.common, ignore);
  const perHost = defs.map((d, i) => ({ label: d.label, lost: bitsToNames(x, minusBits(result.hostBits[i]!, eff)) }));

  const groups = new Map<string, Group>();
  defs.forEach((d, i) => {
    const b = result.hostBits[i]!;
    const k = bitsKey(b);
    const g = groups.get(k);
    if (g) g.defs.push(d);
    else groups.set(k, { bits: b, defs: [d] });
  });
  const gs = [...groups.values()];

  // Intersection of all groups but one, via prefix/suffix intersections (O(groups)).
  const limiting: LimitingGroup[] = [];
  if (gs.length > 1) {
    const n = gs.length;
    const prefix: FeatureBits[] = [];
    const suffix: FeatureBits[] = new Array(n);
    gs.forEach((g, i) => prefix.push(i === 0 ? g.bits : andBits(prefix[i - 1]!, g.bits)));
    for (let i = n - 1; i >= 0; i--) suffix[i] = i === n - 1 ? gs[i]!.bits : andBits(suffix[i + 1]!, gs[i]!.bits);
    gs.forEach((g, i) => {
      const others = i === 0 ? suffix[1]! : i === n - 1 ? prefix[n - 2]! : andBits(prefix[i - 1]!, suffix[i + 1]!);
      const gain = minusBits(others, common);
      if (countBits(gain) > 0) limiting.push({ hosts: g.defs.map((d) => d.label), wouldGain: bitsToNames(x, gain) });
    });
    limiting.sort((a, b) => b.wouldGain.length - a.wouldGain.length);
  }

  // Each distinct host's own best model (libvirt guest decode of that host alone).
  const chosen = x.modelByName.get(result.cpu.model)!;
  const held = new Map<string, HeldBackModel>();
  for (const g of gs) {
    const own = decodeCpu(x, g.bits, result.commonVendor, { preferred: g.defs[0]!.model ? [g.defs[0]!.model] : [] });
    const m = x.modelByName.get(own.model)!;
    if (m.index <= chosen.index || own.model === result.cpu.model) continue;
    const entry = held.get(own.model) ?? { model: own.model, bestFor: [], missing: [] };
    entry.bestFor.push(...g.defs.map((d) => d.label));
    held.set(own.model, entry);
  }
  for (const h of held.values()) {
    const m = x.modelByName.get(h.model)!;
    const missing = bitsToNames(x, minusBits(m.bits, common)).map((f) => {
      const fi = x.featureIndex.get(f)!;
      return { feature: f, lackedBy: gs.filter((g) => (g.bits[fi >>> 5]! & (1 << (fi & 31))) === 0).flatMap((g) => g.defs.map((d) => d.label)) };
    });
    // Features lacked by the fewest hosts first: those hosts are the ones holding the pool back.
    missing.sort((a, b) => a.lackedBy.length - b.lackedBy.length);
    h.missing = missing.map((mm) => ({ feature: mm.feature, lackedBy: short(mm.lackedBy) }));
    h.bestFor = short(h.bestFor);
  }
  const heldBack = [...held.values()].sort((a, b) => x.modelByName.get(b.model)!.index - x.modelByName.get(a.model)!.index);

  const nonMigratable = [...result.cpu.require].filter((f) => hasBit(x.nonMigratable, x.featureIndex.get(f)!));
  const notes = [...new Set(defs.flatMap((d) => d.notes.map((n) => (d.kind === 'cpuinfo' || d.kind === 'host-json' ? n : `${d.label}: ${n}`))))];
  if (nonMigratable.length) {
    notes.push(
      `${nonMigratable.join(', ')} ${nonMigratable.length > 1 ? 'are' : 'is'} not migratable (QEMU blocks live migration of a guest with invtsc): use --migratable for a migration pool`,
    );
  }
  // x86-64 level (src/cpu-models x86Level works on QEMU names).
  const qemuNames = (b: FeatureBits) =>
    bitsToNames(x, b)
      .map((f) => libvirtToQemu(f))
      .filter((f): f is string => f !== null);
  const lv = x86Level(qemuNames(effectiveBits(x, result.cpu)));
  const bestHostLevel = Math.max(0, ...gs.map((g) => x86Level(qemuNames(g.bits)).level));
  const level: BaselineLevel = {
    level: lv.level,
    name: lv.name,
    bestHostLevel,
    nextNeeds:
      lv.level < bestHostLevel
        ? lv.missingForNext.map((q) => {
            const f = x.featureIndex.get(qemuToLibvirtName(q));
            const lackedBy = f === undefined ? [] : gs.filter((g) => !hasBit(g.bits, f)).flatMap((g) => g.defs.map((d) => d.label));
            // Every host has it and the baseline still lacks it: the hypervisor does not give it
            // (hypervisor-cpu-baseline), or libvirt's CPU map cannot express it.
            const heldBy = lackedBy.length ? ('hosts' as const) : opts.hypervisor ? ('hypervisor' as const) : ('cpu-map' as const);
            return { feature: q, lackedBy: short(lackedBy), heldBy };
          })
        : [],
    ...(opts.hypervisor ? { hypervisor: opts.hypervisor } : {}),
    wontBoot: guestOsSupport(lv.level)
      .filter((o) => !o.ok)
      .map((o) => `${o.os} (needs v${o.needs})`),
  };
  return {
    hosts: defs.length,
    level,
    distinctFeatureSets: gs.length,
    perHost,
    limiting: limiting.slice(0, 5).map((l) => ({ ...l, hosts: short(l.hosts) })),
    heldBack: heldBack.slice(0, 3),
    notes,
  };
}

/** Human text for an explanation (stderr next to the baseline, or below it). */
export function renderExplanation(e: BaselineExplanation, model: string): string {
  const lines: string[] = [];
  lines.push(`# ${e.hosts} host(s), ${e.distinctFeatureSets} distinct feature set(s) → ${model}, ${e.level.name ?? '32-bit only'}`);
  if (e.level.nextNeeds.length) {
    const n = e.level.nextNeeds.map((f) =>
      f.heldBy === 'hosts'
        ? `${f.feature} (missing on ${f.lackedBy.join(', ')})`
        : f.heldBy === 'hypervisor'
          ? `${f.feature} (every host has it, but the hypervisor does not give it to guests)`
          : `${f.feature} (every host has it, but libvirt's CPU map has no such feature)`,
    );
    const hyp = e.level.nextNeeds.some((f) => f.heldBy === 'hypervisor') && e.level.hypervisor ? ` — hypervisor: ${e.level.hypervisor}` : '';
    lines.push(`# held below x86-64-v${e.level.level + 1} (best host: v${e.level.bestHostLevel}) by ${n.join('; ')}${hyp}`);
  }
  if (e.level.wontBoot.length) lines.push(`# too low for: ${e.level.wontBoot.join(', ')}`);
  for (const h of e.heldBack) {
    const feats = h.missing.slice(0, 4).map((m) => `${m.feature} (missing on ${m.lackedBy.join(', ')})`);
    lines.push(
      `# held back from ${h.model} (best for ${h.bestFor.join(', ')}) by ${h.missing.length} feature(s): ${feats.join('; ')}${h.missing.length > 4 ? '; …' : ''}`,
    );
  }
  for (const l of e.limiting.slice(0, 3)) {
    lines.push(
      `# without ${l.hosts.join(', ')} the pool would gain ${l.wouldGain.length}: ${l.wouldGain.slice(0, 8).join(', ')}${l.wouldGain.length > 8 ? ', …' : ''}`,
    );
  }
  const losers = e.perHost.filter((h) => h.lost.length > 0);
  if (losers.length === 0) lines.push('# no host loses a feature');
  else {
    const shown = [...losers].sort((a, b) => b.lost.length - a.lost.length).slice(0, 8);
    for (const h of shown) lines.push(`# ${h.label} loses ${h.lost.length}: ${h.lost.slice(0, 10).join(', ')}${h.lost.length > 10 ? ', …' : ''}`);
    if (losers.length > shown.length) lines.push(`# … and ${losers.length - shown.length} more host(s) lose features`);
  }
  for (const n of e.notes) lines.push(`# note: ${n}`);
  return lines.join('\n') + '\n';
}
