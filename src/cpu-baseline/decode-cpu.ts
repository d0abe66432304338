import { KvcpuError } from '../core/errors.ts';
import { bitsToNames, clearBit, type FeatureBits, hasBit, minusBits, type X86Map, type X86Model } from './x86-map.ts';

export interface DecodedCpu {
  model: string;
  /** Features the data has beyond the model (cpu_map order). */
  require: string[];
  /** Model features the data lacks, then (guest) the model's removed features (cpu_map order). */
  disable: string[];
  vendor: string | null;
}

export interface DecodeOptions {
  /** host: no disabled features allowed (capabilities); guest: baseline/domain CPU (default). */
  type?: 'host' | 'guest';
  /** Model names of the inputs (libvirt's "preferred" list). */
  preferred?: string[];
  /** Leaf-1 signature (family/model) of a real CPU; baselines have none. */
  signature?: { family: number; model: number; stepping: number | null } | null;
  /** Only these models may be chosen (e.g. the models QEMU knows). */
  allowedModels?: ReadonlySet<string>;
  /** Drop non-migratable features (invtsc, xsaves) from the result. */
  migratable?: boolean;
  /**
   * The hypervisor's models (`virsh domcapabilities` custom models) with their blockers (features
   * the hypervisor cannot give for that model, libvirt names): only these models are candidates,
   * and blockers are disabled explicitly (libvirt x86DataToCPU with hvModel).
   */
  hypervisorModels?: ReadonlyMap<string, readonly string[]>;
}

interface Candidate {
  m: X86Model;
  require: number[];
  disable: number[];
}

function signatureMatches(m: X86Model, sig: NonNullable<DecodeOptions['signature']>): boolean {
  return m.def.signatures.some((s) => {
    if (s.family !== sig.family || s.model !== sig.model) return false;
    if (s.stepping === undefined || sig.stepping === null) return true;
    return s.stepping.split(',').some((r) => {
      const [lo, hi] = r.split('-').map(Number);
      return sig.stepping! >= lo! && sig.stepping! <= (hi ?? lo)!;
    });
  });
}

/**
 * libvirt 9.0 x86 scoring of a candidate's feature list (virCPUx86CompareCandidateFeatureList):
 * guest CPUs count enabled features plus a growing penalty (2, 3, 4...) per disabled feature.
 * libvirt's loop bound shrinks while it counts, and disabled features sit at the end of the list,
 * so only the first ceil(D/2) disabled ones are counted — copied on purpose, it decides real cases
 * (Opteron-2350 → Opteron_G3, not phenom).
 */
function score(c: Candidate, type: 'host' | 'guest'): { total: number; disabled: number } {
  const n = c.require.length + c.disable.length;
  if (type === 'host') return { total: n, disabled: 0 };
  let enabled = n;
  let disabled = 0;
  let penalty = 2;
  for (let i = 0; i < enabled; i++) {
    if (i >= c.require.length) {
      enabled--;
      disabled += penalty++;
    }
  }
  return { total: enabled + disabled, disabled };
}

/**
 * Turn CPU data into model + require/disable features, like libvirt 9.0's x86Decode: walk the
 * models newest first; skip other vendors' models and models with `decode guest/host='off'`;
 * a lone preferred model wins at once; a matching signature beats a non-matching one; otherwise
 * the lowest score wins and ties keep the newer model.
 */
export function decodeCpu(x: X86Map, data: FeatureBits, vendor: string | null, opts: DecodeOptions = {}): DecodedCpu {
  const type = opts.type ?? 'guest';
  const preferred = opts.preferred ?? [];
  const sig = opts.signature ?? null;
  let best: Candidate | null = null;
  // x86DataFilterTSX: Haswell/Broadwell parts with broken TSX (family 6, model 60/69/70, or 63
  // stepping < 4) have hle/rtm dropped before decoding (libvirt 9.0 src/cpu/cpu_x86.c).
  if (vendor === 'Intel' && sig && sig.family === 6 && ([60, 69, 70].includes(sig.model) || (sig.model === 63 && (sig.stepping ?? 0) < 4))) {
    data = Uint32Array.from(data);
    for (const f of ['hle', 'rtm']) {
      const i = x.featureIndex.get(f);
      if (i !== undefined) clearBit(data, i);
    }
  }
  for (let i = x.models.length - 1; i >= 0; i--) {
    const m = x.models[i]!;
    if (opts.allowedModels && !opts.allowedModels.has(m.def.name)) continue;
    const blockers = opts.hypervisorModels?.get(m.def.name);
    if (opts.hypervisorModels && !blockers) continue;
    if (vendor && m.def.vendor && vendor !== m.def.vendor) continue;
    if (type === 'host' ? !m.def.decode.host : !m.def.decode.guest) continue;
    const req = minusBits(data, m.bits);
    let dis = minusBits(m.bits, data);
    if (blockers && blockers.length) {
      dis = Uint32Array.from(dis);
      for (const b of blockers) {
        const f = x.featureIndex.get(b);
        if (f !== undefined && !hasBit(req, f)) dis[f >>> 5]! |= 1 << (f & 31);
      }
    }
    const c: Candidate = { m, require: [], disable: [] };
    for (let f = 0; f < x.featureNames.length; f++) {
      if (hasBit(req, f)) c.require.push(f);
      else if (hasBit(dis, f)) c.disable.push(f);
    }
    if (type === 'guest') {
      // virCPUx86DisableRemovedFeatures: removed features are disabled explicitly unless listed.
      for (const r of m.def.removed) {
        const f = x.featureIndex.get(r)!;
        if (!c.require.includes(f) && !c.disable.includes(f)) c.disable.push(f);
      }
    } else if (c.disable.length > 0) continue;
    const isPreferred = preferred.includes(m.def.name);
    if (isPreferred && preferred.length === 1) {
      best = c;
      break;
    }
    if (!best) {
      best = c;
      continue;
    }
    if (sig) {
      const cur = signatureMatches(best.m, sig);
      const cand = signatureMatches(m, sig);
      if (cur && !cand) continue;
      if (!cur && cand) {
        best = c;
        continue;
      }
    }
    const a = score(c, type);
    const b = score(best, type);
    if (a.total < b.total || (a.total === b.total && a.disabled < b.disabled) || (isPreferred && a.disabled < b.disabled)) best = c;
  }
  if (!best) {
    throw new KvcpuError('E_CPU_NO_MODEL', 'cannot find a suitable CPU model for the given data', {
      hint: vendor ? `no ${vendor} or vendor-neutral model qualifies` : 'check the input features',
    });
  }
  let require = best.require;
  let disable = best.disable;
  if (opts.migratable) {
    const keep = (f: number) => !hasBit(x.nonMigratable, f);
    require = require.filter(keep);
    disable = disable.filter(keep);
  }
  return {
    model: best.m.def.name,
    require: require.map((f) => x.featureNames[f]!),
    disable: disable.map((f) => x.featureNames[f]!),
    vendor,
  };
}

/** The features a decoded guest CPU gives the guest: model + require − disable. */
export function effectiveBits(x: X86Map, d: { model: string; require: string[]; disable: string[] }): FeatureBits {
  const m = x.modelByName.get(d.model);
  const b = m ? Uint32Array.from(m.bits) : new Uint32Array(x.words);
  for (const r of d.require) b[x.featureIndex.get(r)! >>> 5]! |= 1 << (x.featureIndex.get(r)! & 31);
  for (const r of d.disable) clearBit(b, x.featureIndex.get(r)!);
  return b;
}

export function effectiveNames(x: X86Map, d: { model: string; require: string[]; disable: string[] }): string[] {
  return bitsToNames(x, effectiveBits(x, d));
}
