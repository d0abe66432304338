import { KvcpuError } from '../core/errors.ts';
import { suggestNames } from '../core/suggest-names.ts';
import { loadCatalog, resolveModel, type ResolvedModel } from './catalog.ts';
import { lookupProp, loadCpuProps, parsePropValue, parseTscFreq, setBoolError, type PropValue } from './cpu-properties.ts';
import { featureTable, toQemuName } from './feature-names.ts';
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
  /**
   * What QEMU's filter marks (filtered-features): requested features the accelerator cannot
   * provide, plus features set explicitly whose parent is off. Under TCG the KVM paravirt word is
   * cleared silently before the filter, so it is never listed here.
   */
  unavailable: string[];
  /** What the guest gets (requested − unavailable; with `enforce` QEMU refuses to start instead). */
  final: string[];
  /** `check` (default on): warn and drop; `enforce`: fail. */
  mode: 'enforce' | 'check' | 'silent';
  /** QEMU would refuse to start (the realize-time refusals: enforce, phys-bits, legacy-cache, host without KVM...). */
  fails: boolean;
  /** QEMU's error line when it refuses (without the program prefix). */
  qemuError?: string;
  /** Children cleared because their parent feature is off. */
  droppedByDependency: { feature: string; parent: string }[];
  /** KVM paravirt features dropped silently (TCG, or kvm=off): x86_cpu_expand_features clears FEAT_KVM. */
  droppedSilently: string[];
  /** The CPUID vendor the guest sees. */
  vendor: string | null;
  warnings: string[];
  /** Non-feature properties passed through (`pmu=off`, `level=13`...). */
  knobs: CpuProp[];
  hostExact: boolean;
  hostNotes: string[];
}

/** QEMU's CPU class name as its errors print it (`Skylake-Client-x86_64-cpu`). */
const className = (model: string) => `${model}-x86_64-cpu`;

// FEAT_KVM (CPUID 0x40000001 EAX): the word x86_cpu_expand_features zeroes when KVM is not the
// accelerator or kvm=off (`if (!kvm_enabled() || !cpu->expose_kvm) env->features[FEAT_KVM] = 0`).
let kvmWord: Set<string> | null = null;
function kvmParavirtWord(): Set<string> {
  kvmWord ??= new Set(
    featureTable()
      .rows.filter((r) => r.loc.type === 'cpuid' && r.loc.leaf === 0x40000001 && r.loc.reg === 'eax' && r.qemu)
      .map((r) => r.qemu!),
  );
  return kvmWord;
}

function refuse(
  code: 'E_CPU_FEATURE_UNKNOWN' | 'E_BAD_INPUT' | 'E_CPU_MODEL_UNKNOWN',
  message: string,
  qemuError: string,
  extra: { hint?: string; details?: Record<string, unknown> } = {},
): KvcpuError {
  return new KvcpuError(code, `${message} (QEMU exits: ${qemuError})`, {
    ...(extra.hint ? { hint: extra.hint } : {}),
    details: { ...extra.details, qemuError },
  });
}

/**
 * Resolve a `-cpu` string as QEMU 7.2 does, in QEMU's own order so the first error is QEMU's:
 *  1. the model class (parse_cpu_option → cpu_class_by_name: "unable to find CPU model");
 *  2. x86_cpu_parse_featurestr: `tsc-freq` is converted on the spot (qemu_strtosz_metric), every
 *     `key=value` becomes a global property, `+f`/`-f` are collected;
 *  3. object creation applies the globals in order (object_apply_global_props →
 *     object_property_parse): unknown property, not writable, bad value/range are fatal;
 *  4. x86_cpu_realizefn: Hyper-V VP_INDEX, then x86_cpu_expand_features (every `+f`, then every
 *     `-f` via object_property_set_bool; max/host fill in the accelerator's set; FEAT_KVM cleared
 *     without KVM; feature_dependencies), `host` needs KVM, x86_cpu_filter_features, enforce,
 *     phys-bits, legacy-cache.
 */
export function explainCpu(
  input: string,
  opts: { supported: AccelFeatures; machine?: string; catalog?: QemuCatalog; hostVendor?: string | null },
): CpuExplanation {
  const catalog = opts.catalog ?? loadCatalog();
  const props = loadCpuProps(catalog.qemu.version);
  const parsed = parseCpuString(input);
  const accel = opts.supported.accel;
  let model: ResolvedModel;
  try {
    model = resolveModel(parsed.model, opts.machine, catalog);
  } catch (e) {
    if (e instanceof KvcpuError && e.code === 'E_CPU_MODEL_UNKNOWN') {
      const qemuError = `unable to find CPU model '${parsed.model}'`;
      throw new KvcpuError(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), details: { ...e.details, qemuError }, cause: e });
    }
    throw e;
  }
  const cls = className(model.requested);
  const special = model.resolved === 'host' || model.resolved === 'max';
  const modelClass = special ? 'max-and-host' : 'named';
  const entryForAccel = catalog.models.find((m) => m.name === model.resolved) ?? model.entry;
  // `host` and `max` are "everything the accelerator supports" (max_x86_cpu_initfn, max_features
  // in x86_cpu_expand_features); under TCG the catalog's max is TCG's set.
  const isPassthrough = (model.resolved === 'host' && accel === 'kvm') || (model.resolved === 'max' && accel === 'kvm');
  // Under TCG `host` gets TCG's set like max (its realize fails later, after the filter).
  const tcgHost = model.resolved === 'host' && accel === 'tcg';
  const base = new Set(
    isPassthrough
      ? opts.supported.features
      : modelFeaturesFor(tcgHost ? (catalog.models.find((m) => m.name === 'max') ?? entryForAccel) : entryForAccel, accel),
  );
  // The model definition's vmx-* bits: present in the definition, cleared by feature_dependencies
  // while vmx is off (so the catalog's expansion does not show them).
  const definition = new Set([...base, ...(props.vmxWithModel[model.resolved] ?? props.vmxWithModel[model.requested] ?? [])]);
  const feats = new Set(definition);
  const warnings: string[] = [];
  const userSet = new Set<string>();
  const values = new Map<string, PropValue>();
  const knobs: CpuProp[] = [];
  const notFound = (n: string, how: string, prefix = ''): KvcpuError => {
    const s = suggestFeature(n, catalog);
    const classOnly = props.classOnly['max-and-host'].includes(n);
    return refuse(
      'E_CPU_FEATURE_UNKNOWN',
      `'${how}': ${classOnly ? `'${n}' exists only on the max and host models` : `QEMU ${catalog.qemu.version} has no CPU property '${n}'`}`,
      `${prefix}Property '${cls}.${n}' not found`,
      {
        hint: classOnly
          ? `use -cpu max or -cpu host for ${n}=`
          : s
            ? `the QEMU name is '${s}' (use +${s} or ${s}=on)`
            : '`kvcpu cpu features` and `qemu-system-x86_64 -cpu help` list the QEMU names',
        details: { feature: n, suggestion: classOnly ? null : s },
      },
    );
  };

  // 2. x86_cpu_parse_featurestr: tsc-freq is converted while parsing (before any global applies).
  for (const p of parsed.props) {
    if (p.name === 'tsc-freq' && parseTscFreq(p.value) === null) {
      throw refuse('E_BAD_INPUT', `'${p.raw}': not a frequency`, `bad numerical value ${p.value}`, { hint: 'tsc-freq=2.5G or tsc-frequency=2500000000' });
    }
  }
  // 3. Globals, in the order written (object_apply_global_props; the first error is fatal).
  for (const p of parsed.props) {
    if (parsed.plus.includes(p.name) || parsed.minus.includes(p.name)) {
      warnings.push(`Ambiguous CPU model string. Don't mix both "+${p.name}" and "${p.name}=${p.value}" (the +/- form wins)`);
    }
    const name = p.name === 'tsc-freq' ? 'tsc-frequency' : p.name;
    const value = p.name === 'tsc-freq' ? String(parseTscFreq(p.value)) : p.value;
    const kind = lookupProp(name, modelClass, catalog, props);
    const global = `can't apply global ${cls}.${name}=${value}: `;
    if (!kind) throw notFound(name, p.raw, global);
    if (kind.kind === 'typed' && kind.readOnly)
      throw refuse('E_BAD_INPUT', `'${p.raw}': ${name} is read-only`, `${global}Property '${cls}.${name}' is not writable`);
    const v = parsePropValue(kind, value);
    if (!v.ok)
      throw refuse('E_BAD_INPUT', `'${p.raw}': bad value`, global + v.error, {
        hint: kind.kind === 'typed' ? `${name} is a ${kind.type} property` : `${name}=on or ${name}=off`,
      });
    if (kind.kind === 'feature') {
      if (v.value) feats.add(kind.canonical);
      else feats.delete(kind.canonical);
      userSet.add(kind.canonical);
    } else {
      values.set(name, v.value);
      if (name !== 'check' && name !== 'enforce') knobs.push(p);
    }
  }
  // 4. x86_cpu_realizefn. Hyper-V first: without a KVM that lets QEMU set VP_INDEX (never under
  // TCG) hv-vpindex is fatal before anything else is looked at.
  const fail = (qemuError: string): CpuExplanation => result(qemuError);
  const bool = (n: string, dflt: boolean) => (values.has(n) ? values.get(n) === true : dflt);
  // x86_cpu_expand_features: every +f, then every -f, with object_property_set_bool.
  const setBool = (n: string, on: boolean) => {
    const kind = lookupProp(n, modelClass, catalog, props);
    if (!kind) throw notFound(n, `${on ? '+' : '-'}${n}`);
    if (kind.kind === 'typed') {
      const err = kind.readOnly ? `Property '${cls}.${n}' is not writable` : setBoolError(kind)!;
      throw refuse('E_BAD_INPUT', `'${on ? '+' : '-'}${n}': ${n} is not an on/off property`, err, { hint: `${n}=VALUE (${kind.type})` });
    }
    if (kind.kind === 'feature') {
      if (on) feats.add(kind.canonical);
      else feats.delete(kind.canonical);
      userSet.add(kind.canonical);
    } else values.set(n, on);
  };
  const hvVpindexFatal = accel === 'tcg' && bool('hv-vpindex', false);
  if (!hvVpindexFatal) {
    for (const n of parsed.plus) setBool(n, true);
    for (const n of parsed.minus) setBool(n, false);
  }
  const droppedSilently: string[] = [];
  if (accel !== 'kvm' || !bool('kvm', true)) {
    for (const f of kvmParavirtWord()) if (feats.delete(f)) droppedSilently.push(f);
  }
  const droppedByDependency: { feature: string; parent: string }[] = [];
  const filteredByDependency: string[] = [];
  for (const [parent, children] of Object.entries(props.dependencies)) {
    if (feats.has(parent)) continue;
    for (const c of children) {
      if (!feats.delete(c)) continue;
      droppedByDependency.push({ feature: c, parent });
      // "Not an error unless the dependent feature was added explicitly": marked as filtered.
      if (userSet.has(c)) {
        filteredByDependency.push(c);
        warnings.push(`This feature depends on other features that were not requested: ${c} (needs ${parent})`);
      }
    }
  }
  const requested = [...feats].sort();
  const forced = bool('x-force-features', false);
  const filterable = new Set([...opts.supported.features, ...(opts.supported.unmigratable ?? [])]);
  // lbr-fmt=N puts N into IA32_PERF_CAPABILITIES (MSR 0x345) bits 0-5, which TCG never supports:
  // x86_cpu_filter_features marks them (unnamed bits, so listed as `lbr-fmt=N`).
  const lbrFmt = values.get('lbr-fmt');
  const lbrFiltered = accel === 'tcg' && typeof lbrFmt === 'bigint' && lbrFmt !== 0n ? [`lbr-fmt=0x${lbrFmt.toString(16)}`] : [];
  const unavailable = [
    ...new Set([...unavailableFeatures(requested, { ...opts.supported, features: filterable }), ...filteredByDependency, ...lbrFiltered]),
  ].sort();
  const enforce = bool('enforce', false);
  const check = bool('check', true);
  const mode = enforce ? 'enforce' : check ? 'check' : 'silent';
  const accelName = accel === 'kvm' ? 'host' : 'TCG';
  const unav = new Set(unavailable);
  const final = forced ? requested : requested.filter((f) => !unav.has(f));
  const vendorProp = values.get('vendor');
  // Under KVM every model with a definition (not `base`) takes the host's vendor (x86_cpu_load_model /
  // kvm_cpu_max_instance_init: host_vendor_fms) unless vendor= is given.
  // `base` has no definition: under KVM its vendor stays empty (live 7.2; TCG reports the catalog's).
  const vendor =
    typeof vendorProp === 'string' ? vendorProp : accel !== 'kvm' ? model.vendor : model.resolved === 'base' ? '' : (opts.hostVendor ?? model.vendor);
  if (accel === 'kvm' && typeof vendorProp !== 'string' && !special) {
    warnings.push(`under KVM QEMU gives every named model the host's vendor string unless vendor= is set (model vendor: ${model.vendor ?? '-'})`);
  }

  function result(qemuError?: string): CpuExplanation {
    if (qemuError) warnings.push(`QEMU exits: ${qemuError}`);
    else if (unavailable.length && mode !== 'silent')
      warnings.push(`${accelName} doesn't support requested feature(s): ${unavailable.join(' ')} — dropped (check)`);
    return {
      input,
      parsed,
      model,
      accel,
      requested,
      added: requested.filter((f) => !base.has(f)),
      removed: [...base].filter((f) => !feats.has(f)).sort(),
      unavailable,
      final,
      mode,
      fails: qemuError !== undefined,
      ...(qemuError !== undefined ? { qemuError } : {}),
      droppedByDependency,
      droppedSilently: droppedSilently.sort(),
      vendor,
      warnings,
      knobs,
      hostExact: opts.supported.exact,
      hostNotes: opts.supported.notes,
    };
  }

  if (hvVpindexFatal) return fail("kernel doesn't allow setting HyperV VP_INDEX");
  // KVM: LBR needs the vPMU (kvm_cpu_realizefn / x86_cpu_realizefn lbr-fmt check).
  // max/host default to pmu=on (max_x86_cpu_initfn); named models to off.
  if (accel === 'kvm' && typeof lbrFmt === 'bigint' && lbrFmt !== 0n) {
    if (!bool('pmu', special)) return fail('vPMU: LBR is unsupported without pmu=on');
    // The host's LBR format (IA32_PERF_CAPABILITIES): AMD has no such MSR, so 0.
    if (opts.hostVendor === 'AuthenticAMD' || opts.hostVendor === 'HygonGenuine')
      return fail(`vPMU: the lbr-fmt value (0x${lbrFmt.toString(16)}) does not match the host value (0x0).`);
  }
  if (enforce && unavailable.length) return fail(`${accel === 'kvm' ? 'Host' : 'TCG'} doesn't support requested features`);
  // host_cpuid_required classes need an accelerator that uses the host CPUID; QEMU 7.2 checks it
  // after the filter (an enforce failure under TCG is reported first, live 7.2).
  if (model.resolved === 'host' && accel === 'tcg') return fail("CPU model 'host' requires KVM or HVF");
  // phys-bits (x86_cpu_realizefn): 32..TARGET_PHYS_ADDR_SPACE_BITS (52) with long mode; 0 = default.
  const physBits = values.get('phys-bits');
  if (typeof physBits === 'bigint' && physBits !== 0n) {
    if (!final.includes('lm')) return fail('phys-bits is not user-configurable in 32 bit');
    if (physBits < 32n || physBits > 52n) return fail(`phys-bits should be between 32 and 52  (but is ${physBits})`);
  }
  // legacy-cache=off needs the model's own cache_info (x86_cpu_realizefn).
  if (values.get('legacy-cache') === false && !props.cacheInfo.includes(model.requested))
    return fail(`CPU model '${model.requested}' doesn't support legacy-cache=off`);
  // KVM vCPU init (kvm_arch_init_vcpu): a TSC frequency the kernel cannot scale to.
  const tsc = values.get('tsc-frequency');
  if (accel === 'kvm' && opts.supported.tscScaling === false && typeof tsc === 'bigint' && tsc !== 0n) {
    return fail('kvm_init_vcpu: kvm_arch_init_vcpu failed (0): Operation not supported');
  }
  // KVM: MSR values the kernel refuses to take (probed live: kvm_buf_set_msrs asserts after
  // "failed to set MSR"), e.g. IA32_ARCH_CAPABILITIES (0x10a) under nested PVM.
  for (const msr of opts.supported.refusedMsrs ?? []) {
    let value = 0n;
    for (const r of featureTable().rows) if (r.loc.type === 'msr' && r.loc.index === msr && r.qemu && final.includes(r.qemu)) value |= 1n << BigInt(r.loc.bit);
    if (value !== 0n) return fail(`error: failed to set MSR 0x${msr.toString(16)} to 0x${value.toString(16)}`);
  }
  return result();
}
