import { KvcpuError } from '../core/errors.ts';
import { suggestNames } from '../core/suggest-names.ts';
import { loadCatalog, resolveModel, type ResolvedModel } from './catalog.ts';
import { toQemuName } from './feature-names.ts';
import { modelFeaturesFor, unavailableFeatures, type AccelFeatures } from './runnability.ts';
import type { QemuCatalog } from './types.ts';

/** One `key=value` (or bare `key`) item of a `-cpu` string, after QEMU's `_`→`-` rewrite. */
export interface CpuProp {
  raw: string;
  name: string;
  value: string;
}

export interface ParsedCpuString {
  model: string;
  /** `+f` names, verbatim (QEMU does not rewrite `_` here). */
  plus: string[];
  /** `-f` names, verbatim. */
  minus: string[];
  /** `key=value` / bare `key` items in order. */
  props: CpuProp[];
}

/**
 * Split a `-cpu` argument like QEMU 7.2 x86_cpu_parse_featurestr: first item is the model;
 * `+f`/`-f` go to the plus/minus lists untouched; everything else is `key[=value]` (bare key means
 * `on`) with `_` rewritten to `-` in the key (feat2prop).
 */
export function parseCpuString(s: string): ParsedCpuString {
  const text = s.replace(/^-cpu\s+/, '').trim();
  const items = text.split(',').filter((x) => x !== ''); // strtok skips empty items
  const model = items.shift();
  if (!model) throw new KvcpuError('E_BAD_INPUT', 'empty -cpu string', { hint: "e.g. 'Haswell-v4,+avx512f,-hle'" });
  const parsed: ParsedCpuString = { model, plus: [], minus: [], props: [] };
  for (const it of items) {
    if (it.startsWith('+')) parsed.plus.push(it.slice(1));
    else if (it.startsWith('-')) parsed.minus.push(it.slice(1));
    else {
      const eq = it.indexOf('=');
      const key = eq >= 0 ? it.slice(0, eq) : it;
      const value = eq >= 0 ? it.slice(eq + 1) : 'on';
      parsed.props.push({ raw: it, name: key.replace(/_/g, '-'), value });
    }
  }
  return parsed;
}

// QEMU's string-input visitor for bools (qapi_bool_parse).
function parseBool(v: string): boolean | null {
  if (['on', 'yes', 'true', 'y'].includes(v)) return true;
  if (['off', 'no', 'false', 'n'].includes(v)) return false;
  return null;
}

// QEMU 7.2 target/i386/cpu.c feature_dependencies (the subset that matters for named models):
// when the parent is off, the children are silently cleared during expansion.
function dependencyParent(f: string): string | null {
  if (f.startsWith('vmx-') && f !== 'vmx') return 'vmx';
  if (['npt', 'lbrv', 'svm-lock', 'nrip-save', 'tsc-scale', 'vmcb-clean', 'flushbyasid', 'decodeassists', 'pause-filter',
    'pfthreshold', 'avic', 'v-vmsave-vmload', 'vgif', 'svme-addr-chk'].includes(f)) return 'svm';
  if (['rdctl-no', 'ibrs-all', 'rsba', 'skip-l1dfl-vmentry', 'ssb-no', 'mds-no', 'pschange-mc-no', 'tsx-ctrl', 'taa-no'].includes(f)) return 'arch-capabilities';
  if (f === 'split-lock-detect') return 'core-capability';
  if (f === 'full-width-write') return 'pdcm';
  if (f === 'intel-pt-lip') return 'intel-pt';
  if (f.startsWith('sgx') && f !== 'sgx') return 'sgx';
  return null;
}

/** The QEMU spelling a user probably meant (Linux/libvirt name, or the closest QEMU name). */
export function suggestFeature(name: string, catalog: QemuCatalog = loadCatalog()): string | null {
  const viaOther = toQemuName(name, 'linux') ?? toQemuName(name, 'libvirt');
  if (viaOther) return viaOther;
  // QEMU's own property aliases (`sse4_1` → `sse4.1`), then the shared nearest-name ranking.
  return suggestNames(name, catalog.features, { aliases: catalog.aliases, max: 1 })[0] ?? null;
}

export interface CpuExplanation {
  input: string;
  parsed: ParsedCpuString;
  model: ResolvedModel;
  accel: AccelFeatures['accel'];
  /** Features the model + edits ask for (after dependency filtering), before the accelerator filter. */
  requested: string[];
  /** Compared with the plain model: turned on / off by the string. */
  added: string[];
  removed: string[];
  /** Requested features the accelerator/host cannot provide. */
  unavailable: string[];
  /** What the guest gets (requested − unavailable; with `enforce` QEMU refuses to start instead). */
  final: string[];
  /** `check` (default on): warn and drop; `enforce`: fail. */
  mode: 'enforce' | 'check' | 'silent';
  /** QEMU would refuse to start (enforce + unavailable). */
  fails: boolean;
  /** Children cleared because their parent feature is off. */
  droppedByDependency: { feature: string; parent: string }[];
  warnings: string[];
  /** Non-feature properties passed through (`pmu=off`, `level=13`...). */
  knobs: CpuProp[];
  hostExact: boolean;
  hostNotes: string[];
}

/**
 * Resolve a `-cpu` string as QEMU 7.2 does: model (+ version/alias for the machine type), then
 * `f=on|off` in order (last wins), then every `+f`, then every `-f` (so `-f` beats `+f` whatever
 * the order, and both beat `f=…`); unknown names are fatal; finally the accelerator filter
 * (`check` warns, `enforce` fails).
 */
export function explainCpu(
  input: string,
  opts: { supported: AccelFeatures; machine?: string; catalog?: QemuCatalog },
): CpuExplanation {
  const catalog = opts.catalog ?? loadCatalog();
  const parsed = parseCpuString(input);
  const model = resolveModel(parsed.model, opts.machine, catalog);
  const entryForAccel = catalog.models.find((m) => m.name === model.resolved) ?? model.entry;
  // `host` (KVM) and `max` are "everything the accelerator supports" (QEMU 7.2 max_x86_cpu_initfn /
  // x86_cpu_expand_features with max_features): their set is the accelerator's, not a definition.
  const isPassthrough = model.resolved === 'host' || (model.resolved === 'max' && opts.supported.accel === 'kvm');
  const base = new Set(isPassthrough ? opts.supported.features : modelFeaturesFor(entryForAccel, opts.supported.accel));
  const feats = new Set(base);
  const known = new Set(catalog.features);
  const knobSet = new Set(catalog.knobs);
  // Own keys only: `+toString` found Object.prototype.toString and crashed (fuzz, issue 15).
  const canon = (n: string): string | null => (known.has(n) ? n : Object.hasOwn(catalog.aliases, n) ? catalog.aliases[n]! : null);
  const unknownError = (n: string, how: string): KvcpuError => {
    const s = suggestFeature(n, catalog);
    return new KvcpuError('E_CPU_FEATURE_UNKNOWN', `'${how}': QEMU ${catalog.qemu.version} has no CPU property '${n}' (QEMU would exit: Property '${model.requested}-x86_64-cpu.${n}' not found)`, {
      hint: s ? `the QEMU name is '${s}' (use +${s} or ${s}=on)` : '`kvcpu cpu features` and `qemu-system-x86_64 -cpu help` list the QEMU names',
      details: { feature: n, suggestion: s },
    });
  };
  const warnings: string[] = [];
  if (opts.supported.accel === 'kvm' && model.entry.kind !== 'special') {
    warnings.push(`under KVM QEMU gives every named model the host's vendor string unless vendor= is set (model vendor: ${model.vendor ?? '-'})`);
  }
  const knobs: CpuProp[] = [];
  const userSet = new Set<string>();
  let check = true;
  let enforce = false;
  for (const p of parsed.props) {
    const c = canon(p.name);
    if (c) {
      const b = parseBool(p.value);
      if (b === null) throw new KvcpuError('E_BAD_INPUT', `'${p.raw}': '${p.value}' is not on/off`, { hint: `${p.name}=on or ${p.name}=off` });
      if (parsed.plus.includes(p.name) || parsed.minus.includes(p.name)) {
        warnings.push(`Ambiguous CPU model string: '${p.raw}' mixed with +/-${p.name} (the +/- form wins)`);
      }
      if (b) feats.add(c);
      else feats.delete(c);
      userSet.add(c);
    } else if (p.name === 'check' || p.name === 'enforce') {
      const b = parseBool(p.value);
      if (b === null) throw new KvcpuError('E_BAD_INPUT', `'${p.raw}': '${p.value}' is not on/off`);
      if (p.name === 'check') check = b;
      else enforce = b;
    } else if (knobSet.has(p.name) || p.name === 'tsc-freq') {
      knobs.push(p);
    } else {
      throw unknownError(p.name, p.raw);
    }
  }
  for (const n of parsed.plus) {
    const c = canon(n);
    if (!c) throw unknownError(n, `+${n}`);
    feats.add(c);
    userSet.add(c);
  }
  for (const n of parsed.minus) {
    const c = canon(n);
    if (!c) throw unknownError(n, `-${n}`);
    feats.delete(c);
    userSet.add(c);
  }
  const droppedByDependency: { feature: string; parent: string }[] = [];
  for (const f of [...feats]) {
    const parent = dependencyParent(f);
    if (parent && !feats.has(parent)) {
      feats.delete(f);
      droppedByDependency.push({ feature: f, parent });
      if (userSet.has(f)) warnings.push(`${f} dropped: it needs ${parent}`);
    }
  }
  const requested = [...feats].sort();
  const unavailable =
    model.resolved === 'host' && opts.supported.accel === 'tcg' ? ['kvm'] : unavailableFeatures(requested, opts.supported);
  const mode = enforce ? 'enforce' : check ? 'check' : 'silent';
  // QEMU 7.2 host_cpu_realizefn / x86_cpu_realizefn: `-cpu host` without KVM/HVF is fatal whatever check/enforce say.
  const hostWithoutKvm = model.resolved === 'host' && opts.supported.accel === 'tcg';
  if (hostWithoutKvm) warnings.push("CPU model 'host' requires KVM or HVF: QEMU exits");
  const accelName = opts.supported.accel === 'kvm' ? 'host' : 'TCG';
  if (unavailable.length && mode !== 'silent' && !hostWithoutKvm) {
    warnings.push(`${accelName} doesn't support requested feature(s): ${unavailable.join(' ')}${mode === 'enforce' ? ' — enforce: QEMU exits' : ' — dropped (check)'}`);
  }
  const unav = new Set(unavailable);
  return {
    input,
    parsed,
    model,
    accel: opts.supported.accel,
    requested,
    added: requested.filter((f) => !base.has(f)),
    removed: [...base].filter((f) => !feats.has(f)).sort(),
    unavailable,
    final: requested.filter((f) => !unav.has(f)),
    mode,
    fails: hostWithoutKvm || (mode === 'enforce' && unavailable.length > 0),
    droppedByDependency,
    warnings,
    knobs,
    hostExact: opts.supported.exact,
    hostNotes: opts.supported.notes,
  };
}
