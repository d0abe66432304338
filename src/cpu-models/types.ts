/**
 * Data shapes of the CPU model catalog (QEMU's x86 models as QEMU itself reports them) and of
 * the feature-name table (one row per CPUID/MSR bit, joining QEMU, libvirt and Linux names).
 * Both are produced by `npm run gen` (scripts/gen-cpu-catalog.ts) from the live QEMU/libvirt and
 * shipped as snapshots in src/cpu-models/data/.
 */

export type Accel = 'tcg' | 'kvm';

/** One entry of QEMU's `query-cpu-definitions`, plus its static expansion. */
export interface CatalogModel {
  /** QEMU name as accepted by `-cpu` (`Skylake-Client`, `Skylake-Client-v2`, `qemu64`, `max`...). */
  name: string;
  /**
   * `versioned` (`Name-vN`), `alias` (unversioned or named variant that points to a version),
   * `special` (`base`, `max`, `host`).
   */
  kind: 'versioned' | 'alias' | 'special';
  /** Model family name without the version (`Skylake-Client` for `Skylake-Client-IBRS`'s target too). */
  family: string;
  /** N of `-vN` (versioned entries only). */
  version: number | null;
  /** `alias-of` reported with `-machine none` (= the 4.1+ machine types): the versioned target. */
  aliasOf: string | null;
  migrationSafe: boolean;
  static: boolean;
  deprecated: boolean;
  /** CPUID identity from the static expansion under TCG (TCG keeps the model's own vendor). */
  vendor: string | null;
  cpuFamily: number | null;
  cpuModel: number | null;
  stepping: number | null;
  modelId: string | null;
  /** Canonical QEMU feature names that are ON in the static expansion under TCG, sorted. */
  features: string[];
}

export interface QemuCatalog {
  schema: 'kvcpu/qemu-cpu-catalog/1';
  qemu: { version: string; package: string };
  /** How it was produced (command lines), for reproducibility. */
  generatedBy: string;
  /** The accelerator the expansions were taken under (the snapshot is host-independent only for TCG). */
  accel: 'tcg';
  /** Every canonical QEMU feature name (keys of the static expansion that are feature bits), sorted. */
  features: string[];
  /** QEMU property aliases of features (`sse4_1` → `sse4.1`, `lahf_lm` → `lahf-lm`), found empirically. */
  aliases: Record<string, string>;
  /** Writable CPU properties that are not feature bits (`check`, `enforce`, `pmu`, `level`, `hv-*`...). */
  knobs: string[];
  /** query-cpu-definitions entries, in QEMU's order. */
  models: CatalogModel[];
  /**
   * `alias-of` per machine type (unversioned/named variant → target, or null when the machine type
   * reports none, i.e. the legacy ≤4.0 types where the unversioned model keeps its v1 features).
   */
  aliasResolution: Record<string, Record<string, string | null>>;
  /** QEMU's own `unavailable-features` per model under TCG (deduplicated, sorted). */
  unavailableTcg: Record<string, string[]>;
}

/** Where a feature bit lives. */
export type FeatureLocation =
  { type: 'cpuid'; leaf: number; subleaf: number; reg: 'eax' | 'ebx' | 'ecx' | 'edx'; bit: number } | { type: 'msr'; index: number; bit: number };

/** How /proc/cpuinfo shows a bit. */
export interface LinuxName {
  /** Flag as printed in the `flags` line, or null when Linux hides it / has no name for it. */
  flag: string | null;
  /** true when the kernel knows the bit but does not print it (or prints it only under another name). */
  hidden: boolean;
  /** Why the name differs or is hidden (shown to users next to lossy answers). */
  note?: string;
}

export interface FeatureRow {
  /** Stable key: `cpuid:0x7:0:ebx:5`, `msr:0x10a:0`. */
  key: string;
  loc: FeatureLocation;
  /** Canonical QEMU 7.2 `-cpu` property name (null: QEMU has no property for the bit). */
  qemu: string | null;
  /** Further QEMU property spellings accepted for the same bit (`sse4_1`, `sse4-1`). */
  qemuAliases: string[];
  /** libvirt cpu_map name (null: libvirt has no feature for the bit). */
  libvirt: string | null;
  libvirtAliases: { name: string; source: string }[];
  /** libvirt marks the feature `migratable='no'` (invtsc, xsaves). */
  libvirtMigratable: boolean;
  linux: LinuxName;
}

export interface FeatureTable {
  schema: 'kvcpu/feature-names/1';
  sources: { qemu: string; libvirt: string | null; linux: string };
  rows: FeatureRow[];
  /** /proc/cpuinfo flags that are kernel software state or synthetic: no QEMU/libvirt feature by bit. */
  linuxOnlyFlags: string[];
  /** Synthetic cpuinfo flags that map to different QEMU features per vendor. */
  linuxSynthetic: Record<string, { intel: string[]; amd: string[]; note: string }>;
}
