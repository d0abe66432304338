import { KvcpuError } from '../core/errors.ts';
import { didYouMean } from '../core/suggest-names.ts';
import type { CpuMapModel, LibvirtCpuMap } from './cpu-map-types.ts';
import type { CpuDef, FeaturePolicy } from './cpu-def.ts';

/**
 * The libvirt CPU map indexed for set arithmetic. libvirt 9.0 keeps CPU data as CPUID/MSR
 * registers; since no two cpu_map features share a bit (verified for 9.0), a set of feature
 * indices is equivalent and much faster (a bitset of ceil(212/32) = 7 words).
 */
export type FeatureBits = Uint32Array;

export interface X86Model {
  def: CpuMapModel;
  /** Position in index.xml (higher = newer). */
  index: number;
  bits: FeatureBits;
  /** Number of features in `bits`. */
  size: number;
}

export interface X86Map {
  map: LibvirtCpuMap;
  words: number;
  featureNames: string[];
  featureIndex: Map<string, number>;
  /** Bits of features libvirt marks migratable='no'. */
  nonMigratable: FeatureBits;
  models: X86Model[];
  modelByName: Map<string, X86Model>;
  vendorNames: Set<string>;
  /** CPUID vendor string → libvirt vendor name (`GenuineIntel` → `Intel`). */
  vendorByString: Map<string, string>;
}

const indexed = new WeakMap<LibvirtCpuMap, X86Map>();

export function indexCpuMap(map: LibvirtCpuMap): X86Map {
  const hit = indexed.get(map);
  if (hit) return hit;
  const words = Math.ceil(map.features.length / 32);
  const featureIndex = new Map(map.features.map((f, i) => [f.name, i]));
  const nonMigratable = new Uint32Array(words);
  map.features.forEach((f, i) => {
    if (!f.migratable) setBit(nonMigratable, i);
  });
  const x: X86Map = {
    map,
    words,
    featureNames: map.features.map((f) => f.name),
    featureIndex,
    nonMigratable,
    models: [],
    modelByName: new Map(),
    vendorNames: new Set(map.vendors.map((v) => v.name)),
    vendorByString: new Map(map.vendors.map((v) => [v.string, v.name])),
  };
  map.models.forEach((def, index) => {
    const bits = new Uint32Array(words);
    for (const f of def.features) setBit(bits, featureIndex.get(f)!);
    const m: X86Model = { def, index, bits, size: countBits(bits) };
    x.models.push(m);
    x.modelByName.set(def.name, m);
  });
  indexed.set(map, x);
  return x;
}

export function setBit(b: FeatureBits, i: number): void {
  b[i >>> 5]! |= 1 << (i & 31);
}
export function clearBit(b: FeatureBits, i: number): void {
  b[i >>> 5]! &= ~(1 << (i & 31));
}
export function hasBit(b: FeatureBits, i: number): boolean {
  return (b[i >>> 5]! & (1 << (i & 31))) !== 0;
}
export function countBits(b: FeatureBits): number {
  let n = 0;
  for (let w of b) {
    w = w - ((w >>> 1) & 0x55555555);
    w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
    n += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}
export function andBits(a: FeatureBits, b: FeatureBits): FeatureBits {
  const r = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = a[i]! & b[i]!;
  return r;
}
export function andInPlace(a: FeatureBits, b: FeatureBits): void {
  for (let i = 0; i < a.length; i++) a[i]! &= b[i]!;
}
export function minusBits(a: FeatureBits, b: FeatureBits): FeatureBits {
  const r = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = a[i]! & ~b[i]!;
  return r;
}
export function orBits(a: FeatureBits, b: FeatureBits): FeatureBits {
  const r = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) r[i] = a[i]! | b[i]!;
  return r;
}
export function isEmptyBits(a: FeatureBits): boolean {
  for (const w of a) if (w !== 0) return false;
  return true;
}
export function isSubsetBits(sub: FeatureBits, sup: FeatureBits): boolean {
  for (let i = 0; i < sub.length; i++) if ((sub[i]! & ~sup[i]!) !== 0) return false;
  return true;
}
export function equalBits(a: FeatureBits, b: FeatureBits): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export function bitsKey(a: FeatureBits): string {
  return Array.from(a, (w) => (w >>> 0).toString(16)).join('.');
}

/** Feature names of a bitset, in cpu_map order (the order libvirt prints them in). */
export function bitsToNames(x: X86Map, b: FeatureBits): string[] {
  const out: string[] = [];
  for (let i = 0; i < x.featureNames.length; i++) if (hasBit(b, i)) out.push(x.featureNames[i]!);
  return out;
}

export function namesToBits(x: X86Map, names: Iterable<string>): FeatureBits {
  const b = new Uint32Array(x.words);
  for (const n of names) {
    const i = x.featureIndex.get(n);
    if (i === undefined) throw unknownFeature(n);
    setBit(b, i);
  }
  return b;
}

export function findModel(x: X86Map, name: string): X86Model {
  const m = x.modelByName.get(name);
  if (!m) {
    throw new KvcpuError('E_CPU_UNKNOWN_MODEL', `unknown CPU model ${name}`, { hint: unknownModelHint(x, name) });
  }
  return m;
}

/** The hint for a name that is not a libvirt x86 model: the nearest names (shared ranking). */
export function unknownModelHint(x: X86Map, name: string): string {
  const s = didYouMean(
    name,
    x.models.map((m) => m.def.name),
  );
  return `${s ? `${s} ` : ''}(libvirt's CPU map has ${x.models.length} x86 models: \`virsh cpu-models x86_64\`)`;
}

function unknownFeature(name: string): KvcpuError {
  return new KvcpuError('E_CPU_UNKNOWN_FEATURE', `unknown CPU feature ${name}`, {
    hint: 'libvirt 9.0 accepts only its own spellings (lahf_lm, pclmuldq, sse4.1, tsc-deadline...), not QEMU or Linux ones',
  });
}

/**
 * The CPU data of a definition for one policy, like libvirt's x86ModelFromCPU
 * (src/cpu/cpu_x86.c): `all` = model + require/force − disable/forbid (optional ignored), which
 * is what a host CPU provides; a single policy = only the features listed with that policy
 * (plus the model's features for `require`). Host-format CPUs have only required features.
 */
export function cpuData(x: X86Map, def: CpuDef, policy: 'all' | FeaturePolicy = 'all'): FeatureBits {
  if (def.type === 'host' && policy !== 'all' && policy !== 'require') return new Uint32Array(x.words);
  const bits = def.model && (policy === 'all' || policy === 'require') ? Uint32Array.from(findModel(x, def.model).bits) : new Uint32Array(x.words);
  for (const f of def.features) {
    if (policy === 'all' && f.policy === 'optional') continue;
    if (policy !== 'all' && f.policy !== policy) continue;
    const i = x.featureIndex.get(f.name);
    if (i === undefined) throw unknownFeature(f.name);
    if (policy === 'all' && (f.policy === 'disable' || f.policy === 'forbid')) clearBit(bits, i);
    else setBit(bits, i);
  }
  return bits;
}
