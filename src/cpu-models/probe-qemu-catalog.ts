import { startQemu, type QemuProcess } from '../qmp/start-qemu.ts';
import type { CatalogModel, QemuCatalog } from './types.ts';

/** One `query-cpu-definitions` entry as QEMU 7.2 returns it. */
export interface QmpCpuDefinition {
  name: string;
  'alias-of'?: string;
  'unavailable-features'?: string[];
  'migration-safe'?: boolean;
  static?: boolean;
  deprecated?: boolean;
  typename?: string;
}

export interface QmpExpansion {
  model: { name: string; props?: Record<string, unknown> };
}

// Static-expansion props that describe the CPU but are not CPUID/MSR feature bits.
// QEMU 7.2 target/i386/cpu.c x86_cpu_to_dict: vendor/family/model/stepping/model-id/min-level/
// min-xlevel are identity values; `lmce` is a bool property (MCG_CAP bit), not a CPUID feature.
const IDENTITY_PROPS = new Set(['vendor', 'family', 'model', 'stepping', 'model-id', 'min-level', 'min-xlevel', 'lmce']);

/** Start a QEMU that can answer catalog queries (no guest runs: `-S`, no devices). */
export async function startCatalogQemu(opts: { accel: 'tcg' | 'kvm'; machine?: string; cpu?: string; binary?: string }): Promise<QemuProcess> {
  const args = ['-machine', opts.machine ?? 'none', '-accel', opts.accel, '-nodefaults', '-display', 'none', '-S'];
  if (opts.machine && opts.machine !== 'none') args.push('-m', '64');
  if (opts.cpu) args.push('-cpu', opts.cpu);
  return startQemu({ args, ...(opts.binary ? { binary: opts.binary } : {}), timeoutMs: 20_000 });
}

export async function queryCpuDefinitions(q: QemuProcess): Promise<QmpCpuDefinition[]> {
  return q.qmp.execute<QmpCpuDefinition[]>('query-cpu-definitions');
}

/** `query-cpu-model-expansion` of a model (plus optional props) — the exact feature set QEMU would give. */
export async function expandModel(
  q: QemuProcess,
  name: string,
  type: 'static' | 'full' = 'static',
  props?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await q.qmp.execute<QmpExpansion>('query-cpu-model-expansion', {
    type,
    model: props ? { name, props } : { name },
  });
  return r.model.props ?? {};
}

/** Canonical feature names ON in a static expansion. */
export function featuresOn(props: Record<string, unknown>): string[] {
  return Object.entries(props)
    .filter(([k, v]) => v === true && !IDENTITY_PROPS.has(k))
    .map(([k]) => k)
    .sort();
}

/** Canonical feature names of a static expansion (on or off). */
export function featureKeys(props: Record<string, unknown>): string[] {
  return Object.entries(props)
    .filter(([k, v]) => typeof v === 'boolean' && !IDENTITY_PROPS.has(k))
    .map(([k]) => k)
    .sort();
}

/** Deduplicate QEMU's `unavailable-features` (7.2 lists `pku`/`mpx` twice on some KVM hosts). */
export function normalizeUnavailable(list: string[] | undefined): string[] {
  return [...new Set(list ?? [])].sort();
}

const VERSIONED = /^(.*)-v(\d+)$/;

function classify(def: QmpCpuDefinition): Pick<CatalogModel, 'kind' | 'family' | 'version'> {
  if (def.name === 'base' || def.name === 'max' || def.name === 'host') return { kind: 'special', family: def.name, version: null };
  const m = VERSIONED.exec(def.name);
  if (m && !def['alias-of']) return { kind: 'versioned', family: m[1]!, version: Number(m[2]) };
  const target = def['alias-of'];
  const tm = target ? VERSIONED.exec(target) : null;
  return { kind: 'alias', family: tm ? tm[1]! : def.name, version: null };
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}
function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * Ask a running QEMU (`-machine none -accel tcg`) for its whole x86 catalog: definitions and the
 * static expansion of every model. `host` cannot be expanded under TCG and is kept without features.
 */
export async function probeModels(q: QemuProcess): Promise<{ defs: QmpCpuDefinition[]; models: CatalogModel[]; features: string[] }> {
  const defs = await queryCpuDefinitions(q);
  const models: CatalogModel[] = [];
  let features: string[] = [];
  for (const def of defs) {
    let props: Record<string, unknown> = {};
    try {
      props = await expandModel(q, def.name, 'static');
    } catch {
      // `host` is KVM/HVF only: QEMU refuses to expand it under TCG.
    }
    if (def.name === 'base') features = featureKeys(props);
    models.push({
      name: def.name,
      ...classify(def),
      aliasOf: def['alias-of'] ?? null,
      migrationSafe: def['migration-safe'] ?? false,
      static: def.static ?? false,
      deprecated: def.deprecated ?? false,
      vendor: str(props.vendor),
      cpuFamily: num(props.family),
      cpuModel: num(props.model),
      stepping: num(props.stepping),
      modelId: str(props['model-id']),
      features: featuresOn(props),
    });
  }
  return { defs, models, features };
}

/**
 * Find QEMU's property aliases of features empirically: every boolean property of the full
 * expansion that is not a canonical feature is set on and off on `max` (with `svm`/`vmx` on so
 * dependent bits survive QEMU's feature-dependency filter); a prop that flips exactly one
 * canonical feature is an alias of it. Knobs such as `check`, `pmu` or `hv-*` flip nothing.
 */
export async function probeAliases(q: QemuProcess, canonical: string[]): Promise<{ aliases: Record<string, string>; knobs: string[] }> {
  const full = await expandModel(q, 'max', 'full');
  const canon = new Set(canonical);
  const candidates = Object.entries(full)
    .filter(([k, v]) => typeof v === 'boolean' && !canon.has(k) && !IDENTITY_PROPS.has(k))
    .map(([k]) => k)
    .sort();
  const aliases: Record<string, string> = {};
  const parents = { svm: true, vmx: true };
  for (const c of candidates) {
    let on: Record<string, unknown>;
    let off: Record<string, unknown>;
    try {
      on = await expandModel(q, 'max', 'static', { ...parents, [c]: true });
      off = await expandModel(q, 'max', 'static', { ...parents, [c]: false });
    } catch {
      continue;
    }
    const flipped = canonical.filter((f) => on[f] === true && off[f] !== true);
    if (flipped.length === 1) aliases[c] = flipped[0]!;
    // QEMU 7.2 x86_cpu_expand_features zeroes FEAT_KVM unless KVM is the accelerator, so the
    // `kvm_*` underscore aliases flip nothing under TCG: accept the `_`→`-` spelling when it is a
    // canonical feature (QEMU registers exactly these legacy spellings as aliases).
    else if (flipped.length === 0 && c.includes('_') && canon.has(c.replace(/_/g, '-'))) aliases[c] = c.replace(/_/g, '-');
  }
  // Writable non-feature properties (`check`, `enforce`, `pmu`, `level`, `hv-*`...): legal in `-cpu` strings.
  const knobs = Object.keys(full)
    .filter((k) => !canon.has(k) && !(k in aliases))
    .sort();
  return { aliases, knobs };
}

/** Build the whole catalog from the live QEMU (TCG, host-independent). About 10 s. */
export async function probeQemuCatalog(opts: { binary?: string; machines?: string[] } = {}): Promise<QemuCatalog> {
  const binary = opts.binary;
  const q = await startCatalogQemu({ accel: 'tcg', ...(binary ? { binary } : {}) });
  let catalog: QemuCatalog;
  try {
    const v = q.qmp.greeting.QMP.version;
    const { defs, models, features } = await probeModels(q);
    const { aliases, knobs } = await probeAliases(q, features);
    const unavailableTcg: Record<string, string[]> = {};
    for (const d of defs) unavailableTcg[d.name] = normalizeUnavailable(d['unavailable-features']);
    const aliasNone: Record<string, string | null> = {};
    for (const d of defs) if (classify(d).kind === 'alias') aliasNone[d.name] = d['alias-of'] ?? null;
    catalog = {
      schema: 'kvcpu/qemu-cpu-catalog/1',
      qemu: { version: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`, package: v.package.trim() },
      generatedBy:
        'scripts/gen-cpu-catalog.ts: qemu-system-x86_64 -machine none -accel tcg -S; query-cpu-definitions + query-cpu-model-expansion static per model',
      accel: 'tcg',
      features,
      aliases,
      knobs,
      models,
      aliasResolution: { none: aliasNone },
      unavailableTcg,
    };
  } finally {
    await q.stop();
  }
  // Unversioned names resolve per machine type (QEMU 7.2 hw/i386/pc.c: x86_cpu_set_default_version
  // from the machine class' default_cpu_version; legacy ≤4.0 types use CPU_VERSION_LEGACY → no alias).
  const aliasNames = catalog.models.filter((m) => m.kind === 'alias').map((m) => m.name);
  for (const machine of opts.machines ?? ['pc-q35-7.2', 'pc-i440fx-4.0']) {
    const qm = await startCatalogQemu({ accel: 'tcg', machine, ...(binary ? { binary } : {}) });
    try {
      const defs = await queryCpuDefinitions(qm);
      const byName = new Map(defs.map((d) => [d.name, d]));
      const map: Record<string, string | null> = {};
      for (const n of aliasNames) map[n] = byName.get(n)?.['alias-of'] ?? null;
      catalog.aliasResolution[machine] = map;
    } finally {
      await qm.stop();
    }
  }
  return catalog;
}
