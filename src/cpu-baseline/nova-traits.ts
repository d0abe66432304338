import { readFileSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';
import { dataPath } from '../core/package-root.ts';
import type { CpuDef } from './cpu-def.ts';
import { baselineCpus } from './baseline-cpus.ts';
import type { X86Map } from './x86-map.ts';

/** Nova's libvirt feature → os-traits table, as `npm run gen:nova-traits` read it from Nova. */
export interface NovaTraitTable {
  source: string;
  nova: string;
  mapping: Record<string, string[]>;
}

let table: NovaTraitTable | undefined;
export function loadNovaTraitTable(): NovaTraitTable {
  table ??= JSON.parse(readFileSync(dataPath('cpu-baseline', 'nova-cpu-traits.json'), 'utf8')) as NovaTraitTable;
  return table;
}

/** Nova's `[libvirt] cpu_mode`: host-model is its default for KVM/QEMU on x86 (_get_guest_cpu_model_config). */
export type NovaCpuMode = 'host-model' | 'host-passthrough' | 'custom';

export interface NovaTraitsOptions {
  mode?: NovaCpuMode;
  /** `[libvirt] cpu_models` (custom mode). */
  models?: string[];
  /** `[libvirt] cpu_model_extra_flags`. */
  extraFlags?: string[];
}

export interface NovaTraits {
  /** Every trait of the table with the value Nova reports (false ones are removed from the provider). */
  traits: Record<string, boolean>;
  /** The traits Nova sets true, sorted. */
  set: string[];
  mode: NovaCpuMode;
  /** The libvirt feature names Nova looked the table up with. */
  features: string[];
  nova: string;
  notes: string[];
}

/**
 * The CPU traits Nova 26.2.2's libvirt driver reports for a host (nova/virt/libvirt/driver.py
 * _get_cpu_feature_traits, then utils.cpu_features_to_traits):
 *  - host-model / host-passthrough (the default): every feature of the host CPU as libvirt
 *    expands it (the capabilities CPU through baselineCPU with EXPAND_FEATURES), plus
 *    cpu_model_extra_flags;
 *  - custom: each of cpu_models expanded by libvirt (baselineCPU with EXPAND_FEATURES: the
 *    model's features), plus the extra flags.
 * Every table key becomes trait=true when its name is among those features. Keys that are not a
 * libvirt feature name (Nova's `avx512vnni` vs libvirt's `avx512-vnni`) never match: noted.
 */
export function novaCpuTraits(x: X86Map, def: CpuDef, opts: NovaTraitsOptions = {}): NovaTraits {
  const t = loadNovaTraitTable();
  const mode = opts.mode ?? 'host-model';
  const notes: string[] = [];
  // Nova's Host.get_capabilities (nova/virt/libvirt/host.py) replaces the host CPU's features
  // with libvirt's baselineCPU(host CPU, VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES): every feature
  // the CPU has, its model's included; kvcpu's baseline of that one CPU is the same computation.
  const expand = (d: CpuDef) => baselineCpus(x, [d], { expandFeatures: true }).cpu.require;
  let features: Set<string>;
  if (mode === 'custom') {
    if (!opts.models?.length)
      throw new KvcpuError('E_USAGE', 'cpu_mode custom needs the cpu_models to expand', { hint: '--cpu-models Haswell-noTSX,Skylake-Client' });
    features = new Set<string>();
    for (const m of opts.models) {
      if (!x.modelByName.has(m))
        throw new KvcpuError('E_CPU_UNKNOWN_MODEL', `${m} is not a libvirt CPU model`, { hint: `models: ${x.models.map((v) => v.def.name).join(', ')}` });
      // _resolve_features: the host <cpu> with its model replaced and no features, expanded.
      for (const f of expand({ ...def, model: m, features: [], signature: null })) features.add(f);
    }
  } else {
    features = new Set(expand(def));
  }
  for (const f of opts.extraFlags ?? []) features.add(f.toLowerCase());
  const traits: Record<string, boolean> = {};
  for (const [feature, names] of Object.entries(t.mapping)) for (const n of names) traits[n] = features.has(feature);
  const unmatched = Object.keys(t.mapping).filter((k) => !x.featureIndex.has(k));
  if (unmatched.length)
    notes.push(`Nova's table names ${unmatched.join(', ')}, which libvirt calls differently (or not at all): those traits are never set through libvirt`);
  return {
    traits,
    set: Object.keys(traits)
      .filter((k) => traits[k])
      .sort(),
    mode,
    features: [...features].sort(),
    nova: t.nova,
    notes,
  };
}
