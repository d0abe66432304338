import { loadCatalog, tcgSupported } from './catalog.ts';
import { cpuinfoFlagsToQemu } from './feature-names.ts';
import type { Accel, CatalogModel, QemuCatalog } from './types.ts';

/** What an accelerator on a host can give a guest, in canonical QEMU feature names. */
export interface AccelFeatures {
  accel: Accel;
  /**
   * `catalog-tcg`: TCG's fixed feature set (host-independent, exact);
   * `qemu-live`: QEMU's own static expansion of `host` (KVM) or `max` — exact;
   * `cpuinfo-estimate`: /proc/cpuinfo flags translated to QEMU names — KVM could not be asked
   * (no /dev/kvm); lossy, see notes.
   */
  source: 'catalog-tcg' | 'qemu-live' | 'cpuinfo-estimate';
  exact: boolean;
  features: Set<string>;
  /**
   * Features the accelerator gives only to non-migratable guests (KVM: invtsc...;
   * x86_cpu_get_supported_feature_word with migratable_only=false): x86_cpu_filter_features
   * accepts them on any model, but `max`/`host` include them only with migratable=off.
   */
  unmigratable?: Set<string>;
  /** KVM: MSRs the kernel refuses non-zero values for (probed live; "failed to set MSR 0x10a"). */
  refusedMsrs?: number[];
  /** KVM: false when the kernel cannot set a guest TSC frequency (tsc-frequency= then fails at vCPU init). */
  tscScaling?: boolean;
  notes: string[];
}

/** TCG's supported set: the static expansion of `max` under TCG (QEMU 7.2: tcg_features per word). */
export function tcgFeatures(catalog: QemuCatalog = loadCatalog()): AccelFeatures {
  return { accel: 'tcg', source: 'catalog-tcg', exact: true, features: tcgSupported(catalog), notes: [] };
}

// KVM always provides these whatever the host CPU has: paravirt leaves, the emulated x2APIC
// and TSC-deadline timer, and the hypervisor bit (QEMU 7.2 kvm_arch_get_supported_cpuid fix-ups).
const KVM_ALWAYS = [
  'hypervisor',
  'x2apic',
  'tsc-deadline',
  'kvmclock',
  'kvm-nopiodelay',
  'kvm-mmu',
  'kvm-asyncpf',
  'kvm-steal-time',
  'kvm-pv-eoi',
  'kvm-pv-unhalt',
  'kvm-pv-tlb-flush',
  'kvm-pv-ipi',
  'kvm-poll-control',
  'kvm-pv-sched-yield',
  'kvm-asyncpf-int',
  'kvm-msi-ext-dest-id',
  'kvmclock-stable-bit',
  'arat',
];

/**
 * Estimate KVM's supported set from /proc/cpuinfo flags when KVM itself cannot be asked. Lossy:
 * hidden bits (spec-ctrl, ssbd...), MSR features (arch-capabilities bits) and whatever KVM masks
 * (nested hosts often give far less than cpuinfo shows) are not visible here.
 */
export function kvmFeaturesFromCpuinfo(flags: string[], vendor: string | null): AccelFeatures {
  const { qemu } = cpuinfoFlagsToQemu(flags, vendor);
  return {
    accel: 'kvm',
    source: 'cpuinfo-estimate',
    exact: false,
    features: new Set([...qemu, ...KVM_ALWAYS]),
    notes: ['KVM could not be asked (no usable /dev/kvm): features estimated from /proc/cpuinfo, which hides some bits and cannot tell what KVM masks'],
  };
}

/** QEMU 7.2 kvm_default_props: what a named model gets on top of its definition under KVM. */
const KVM_DEFAULT_ON = ['kvmclock', 'kvm-nopiodelay', 'kvm-asyncpf', 'kvm-steal-time', 'kvm-pv-eoi', 'kvmclock-stable-bit', 'x2apic'];
const KVM_DEFAULT_OFF = ['acpi', 'monitor', 'svm'];

/**
 * A model's feature set under an accelerator. The catalog holds TCG expansions (TCG turns `vme`
 * off: tcg_default_props). Under KVM QEMU applies kvm_default_props instead and keeps the model's
 * `vme`; without a live KVM expansion this is reconstructed — verified equal to QEMU 7.2's KVM
 * static expansion for all 129 named entries (test/e2e/cpu-models.test.ts, reference data).
 */
export function modelFeaturesFor(model: CatalogModel, accel: Accel): string[] {
  if (accel === 'tcg' || model.kind === 'special') return model.features;
  const s = new Set(model.features);
  for (const f of KVM_DEFAULT_ON) s.add(f);
  for (const f of KVM_DEFAULT_OFF) s.delete(f);
  // QEMU 7.2 builtin_x86_defs: every model lists CPUID_VME except qemu64/qemu32 (PPRO_FEATURES only).
  if (!/^qemu(64|32)(-v\d+)?$/.test(model.name)) s.add('vme');
  // kvm_default_props clear svm, so QEMU's feature_dependencies clear the whole SVM word
  // (0x8000000A EDX: npt, nrip-save, ...) during expansion.
  for (const f of SVM_WORD) s.delete(f);
  return [...s].sort();
}

const SVM_WORD = [
  'npt',
  'lbrv',
  'svm-lock',
  'nrip-save',
  'tsc-scale',
  'vmcb-clean',
  'flushbyasid',
  'decodeassists',
  'pause-filter',
  'pfthreshold',
  'avic',
  'v-vmsave-vmload',
  'vgif',
  'svme-addr-chk',
];

/**
 * Features of a model the accelerator cannot provide — QEMU's `unavailable-features` rule
 * (x86_cpu_filter_features): requested − supported. Under KVM QEMU never reports `topoext`
 * (it always allows it), so neither do we.
 */
export function unavailableFeatures(requested: Iterable<string>, supported: AccelFeatures): string[] {
  const out: string[] = [];
  for (const f of requested) {
    if (supported.features.has(f)) continue;
    if (supported.accel === 'kvm' && f === 'topoext') continue;
    out.push(f);
  }
  return [...new Set(out)].sort();
}

export interface ModelRunnability {
  name: string;
  aliasOf: string | null;
  vendor: string | null;
  modelId: string | null;
  migrationSafe: boolean;
  runnable: boolean;
  unavailable: string[];
}

/**
 * Which catalog models an accelerator can run, like query-cpu-definitions' `unavailable-features`.
 * `host` needs KVM: under TCG QEMU reports the pseudo-feature `kvm` (x86_cpu_class_check_missing_features).
 */
export function modelRunnability(supported: AccelFeatures, catalog: QemuCatalog = loadCatalog()): ModelRunnability[] {
  return catalog.models.map((m) => {
    let unavailable: string[];
    if (m.name === 'host') unavailable = supported.accel === 'tcg' ? ['kvm'] : [];
    else if (m.name === 'max') unavailable = [];
    else unavailable = unavailableFeatures(modelFeaturesFor(m, supported.accel), supported);
    return {
      name: m.name,
      aliasOf: m.aliasOf,
      vendor: m.vendor,
      modelId: m.modelId,
      migrationSafe: m.migrationSafe,
      runnable: unavailable.length === 0,
      unavailable,
    };
  });
}

/** What "runnable" means, stated wherever a count of runnable models is printed. */
export const RUNNABLE_DEFINITION =
  'runnable = QEMU reports no unavailable-features for the model under that accelerator (x86_cpu_filter_features), so `-cpu MODEL,enforce` starts';

/**
 * A named model is what users type: an unversioned name (an alias such as `Skylake-Server`, or
 * a model without versions such as `486`), not a `-vN` version and not base/host/max.
 */
export function isNamedModel(name: string): boolean {
  return !/-v\d+$/.test(name) && !['base', 'host', 'max'].includes(name);
}

export interface RunnableSummary {
  accel: Accel;
  /** Every catalog entry (`-cpu help` names: aliases, versions, base/host/max). */
  all: { runnable: number; total: number };
  /** Named models only (isNamedModel), sorted runnable names. */
  named: { runnable: string[]; total: number };
  definition: string;
}

/** The one count of runnable models, for `kvcpu models` and `kvcpu report` alike. */
export function summarizeRunnable(rows: ModelRunnability[], accel: Accel): RunnableSummary {
  const named = rows.filter((r) => isNamedModel(r.name));
  return {
    accel,
    all: { runnable: rows.filter((r) => r.runnable).length, total: rows.length },
    named: {
      runnable: named
        .filter((r) => r.runnable)
        .map((r) => r.name)
        .sort((a, b) => a.localeCompare(b)),
      total: named.length,
    },
    definition: RUNNABLE_DEFINITION,
  };
}

/** `N of M CPU model names runnable under ACCEL (n of m named models: ...)`. */
export function runnableSentence(s: RunnableSummary, listNamed = true): string {
  const names = listNamed && s.named.runnable.length ? `: ${s.named.runnable.join(' ')}` : '';
  return `${s.all.runnable} of ${s.all.total} CPU model names runnable under ${s.accel} (${s.named.runnable.length} of ${s.named.total} named models${names})`;
}
