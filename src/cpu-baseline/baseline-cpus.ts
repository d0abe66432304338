import { KvcpuError } from '../core/errors.ts';
import type { CpuDef } from './cpu-def.ts';
import { decodeCpu, effectiveBits } from './decode-cpu.ts';
import { andInPlace, cpuData, type FeatureBits, findModel, isEmptyBits, namesToBits, minusBits, bitsToNames, type X86Map } from './x86-map.ts';

/**
 * Features libvirt's QEMU driver removes from every baseline (qemuConnectBaselineCPU →
 * virQEMUCapsCPUFilterFeatures): QEMU has no property for them, they describe OS state or
 * monitoring, not guest-visible CPU capabilities. The test driver keeps them.
 */
export const QEMU_FILTERED_FEATURES = ['cmt', 'mbm_total', 'mbm_local', 'osxsave', 'ospke'] as const;

export interface BaselineOptions {
  /** `--features`: list every feature of the model explicitly (sorted by name, like virsh). */
  expandFeatures?: boolean;
  /** `--migratable`: drop non-migratable features (invtsc, xsaves). */
  migratable?: boolean;
  /** Drop QEMU_FILTERED_FEATURES from the result, as `virsh -c qemu:///… cpu-baseline` does (default true). */
  qemuFilter?: boolean;
  /** Only these models may be chosen. */
  allowedModels?: ReadonlySet<string>;
  /** `virsh hypervisor-cpu-baseline`: what this host's QEMU can do (see HypervisorContext). */
  hypervisor?: HypervisorContext;
}

/**
 * What libvirt learns from QEMU for `hypervisor-cpu-baseline` (domcapabilities + QEMU probing):
 * every feature name QEMU knows (libvirt spelling), its CPU models with their blockers, and the
 * features QEMU marks non-migratable.
 */
export interface HypervisorContext {
  features: readonly string[];
  models: ReadonlyMap<string, readonly string[]>;
  nonMigratable: readonly string[];
}

export interface BaselineCpu {
  model: string;
  vendor: string | null;
  /** forbid when all inputs name one model and the result is that model (libvirt rule). */
  fallback: 'forbid' | 'allow';
  require: string[];
  disable: string[];
  /** `--features`: the model's features are listed explicitly (lists sorted by name). */
  expanded?: boolean;
}

export interface BaselineResult {
  cpu: BaselineCpu;
  /** Intersection of every input's features (libvirt names, cpu_map order), before the model choice. */
  common: FeatureBits;
  /** Each input's own feature set. */
  hostBits: FeatureBits[];
  /** The vendor all inputs share (also when the output omits it because an input had none). */
  commonVendor: string | null;
  /** Distinct model names of the inputs (libvirt's preferred models). */
  inputModels: string[];
}

function modelVendor(x: X86Map, def: CpuDef): string | null {
  return def.model ? findModel(x, def.model).def.vendor : null;
}

/**
 * The migration-safe guest CPU for a set of hosts, like libvirt 9.0's virCPUx86Baseline
 * (`virsh cpu-baseline`): intersect every input's features (model + required − disabled),
 * check that all inputs share a vendor, then decode the intersection as a guest CPU with the
 * inputs' model names as preferred models.
 */
export function baselineCpus(x: X86Map, defs: CpuDef[], opts: BaselineOptions = {}): BaselineResult {
  if (defs.length === 0) {
    throw new KvcpuError('E_CPU_NO_INPUT', 'no CPU definitions given', {
      hint: 'pass libvirt <cpu> XML, `kvcpu host --json` output or /proc/cpuinfo files',
    });
  }
  for (const d of defs) {
    if (!d.model && d.features.length === 0) {
      throw new KvcpuError('E_CPU_NO_MODEL', `${d.label}: CPU has no model and no features${d.mode ? ` (mode='${d.mode}')` : ''}`, {
        hint: "host-passthrough/host-model guests describe no CPU: give the host's `virsh capabilities` or `virsh domcapabilities` instead",
      });
    }
  }
  const first = defs[0]!;
  const hostBits = defs.map((d) => cpuData(x, d, 'all'));
  const common = Uint32Array.from(hostBits[0]!);
  let outputVendor = first.vendor !== null;
  let vendor: string | null = null;
  if (first.vendor !== null) vendor = checkVendor(x, first.vendor);
  const inputModels: string[] = first.model ? [first.model] : [];
  for (let i = 1; i < defs.length; i++) {
    const d = defs[i]!;
    if (d.model && !inputModels.includes(d.model)) inputModels.push(d.model);
    const mv = modelVendor(x, d);
    if (d.vendor && mv && d.vendor !== mv) {
      throw new KvcpuError('E_CPU_VENDOR_MISMATCH', `CPU vendor ${mv} of model ${d.model} differs from vendor ${d.vendor} (${d.label})`, {
        hint: 'fix the <vendor> or <model> of that input',
      });
    }
    let vn: string | null = d.vendor;
    if (!vn) {
      outputVendor = false;
      vn = mv;
    }
    if (vn) {
      if (!vendor) vendor = checkVendor(x, vn);
      else if (vendor !== vn) {
        throw new KvcpuError(
          'E_CPU_VENDOR_MISMATCH',
          `CPU vendors do not match: ${defs.find((dd) => (dd.vendor ?? modelVendor(x, dd)) === vendor)?.label ?? first.label} is ${vendor}, ${d.label} is ${vn}`,
          {
            hint: 'a guest cannot migrate between vendors safely: split the hosts with `kvcpu cpu pools`',
            details: { vendors: [vendor, vn] },
          },
        );
      }
    }
    andInPlace(common, hostBits[i]!);
  }
  const hyp = opts.hypervisor;
  if (hyp) {
    // qemuConnectBaselineHypervisorCPU: intersect with the features QEMU knows (only the
    // migratable ones under --migratable; libvirt's own migratable filter is then skipped).
    const nonMig = new Set(opts.migratable ? hyp.nonMigratable : []);
    andInPlace(
      common,
      namesToBits(
        x,
        hyp.features.filter((f) => x.featureIndex.has(f) && !nonMig.has(f)),
      ),
    );
  }
  if (isEmptyBits(common)) {
    throw new KvcpuError('E_CPU_INCOMPATIBLE', 'CPUs are incompatible: they share no feature', { hint: 'check the inputs' });
  }
  const decoded = decodeCpu(x, common, vendor, {
    type: 'guest',
    preferred: inputModels,
    migratable: hyp ? false : (opts.migratable ?? false),
    ...(opts.allowedModels ? { allowedModels: opts.allowedModels } : {}),
    ...(hyp ? { hypervisorModels: hyp.models } : {}),
  });
  let require = decoded.require;
  let disable = decoded.disable;
  if ((opts.qemuFilter ?? true) && !hyp) {
    const drop = new Set<string>(QEMU_FILTERED_FEATURES);
    require = require.filter((f) => !drop.has(f));
    disable = disable.filter((f) => !drop.has(f));
  }
  if (opts.expandFeatures) {
    // virCPUx86ExpandFeatures: the model's features become explicit `require`s, then the
    // decoded require/disable policies are applied on top; virsh prints them sorted by name.
    const eff = effectiveBits(x, { model: decoded.model, require, disable: [] });
    const dis = namesToBits(x, disable);
    require = bitsToNames(x, minusBits(eff, dis)).sort();
    disable = [...disable].sort();
  }
  return {
    cpu: {
      model: decoded.model,
      vendor: outputVendor ? vendor : null,
      // hypervisor-cpu-baseline always answers fallback='forbid' (the model is the hypervisor's).
      fallback: hyp || (inputModels.length === 1 && inputModels[0] === decoded.model) ? 'forbid' : 'allow',
      require,
      disable,
      ...(opts.expandFeatures ? { expanded: true } : {}),
    },
    common,
    hostBits,
    commonVendor: vendor,
    inputModels,
  };
}

function checkVendor(x: X86Map, v: string): string {
  if (!x.vendorNames.has(v)) {
    throw new KvcpuError('E_CPU_UNKNOWN_VENDOR', `unknown CPU vendor ${v}`, {
      hint: `libvirt vendors: ${[...x.vendorNames].join(', ')}`,
    });
  }
  return v;
}
