import { pathToFileURL } from 'node:url';
import { didYouMean, suggestNames } from '../core/suggest-names.ts';
import { dataPath } from '../core/package-root.ts';
import { knownMachines, ver } from '../smp/qemu-machines.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';
import type { CatalogModel, QemuCatalog } from './types.ts';

/**
 * Folder of the generated snapshots (src/cpu-models/data, dist/data/cpu-models in a build),
 * found on first use so importing this module reads nothing.
 */
export function catalogDataDir(): URL {
  return pathToFileURL(dataPath('cpu-models') + '/');
}

const cache = new Map<string, QemuCatalog>();

/** QEMU versions (`7.2`) a snapshot ships for, newest first. */
export function catalogVersions(): string[] {
  if (!existsSync(catalogDataDir())) return [];
  return readdirSync(catalogDataDir())
    .map((f) => /^qemu-(\d+\.\d+)-x86\.json$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort((a, b) => {
      const [am, an] = a.split('.').map(Number) as [number, number];
      const [bm, bn] = b.split('.').map(Number) as [number, number];
      return bm - am || bn - an;
    });
}

/**
 * The shipped catalog of a QEMU version (`7.2`, `7.2.22` → 7.2), default the newest snapshot.
 * For the installed QEMU's live answers see `loadLiveCatalog` in live-catalog.ts.
 */
export function loadCatalog(version?: string): QemuCatalog {
  const versions = catalogVersions();
  const want = version ? version.split('.').slice(0, 2).join('.') : versions[0];
  if (!want || !versions.includes(want)) {
    throw new KvcpuError('E_CATALOG_MISSING', `no CPU model catalog for QEMU ${version ?? '(any)'}; have: ${versions.join(', ') || 'none'}`, {
      hint: 'run `npm run gen` on a machine with that QEMU installed',
    });
  }
  const hit = cache.get(want);
  if (hit) return hit;
  const cat = JSON.parse(readFileSync(new URL(`qemu-${want}-x86.json`, catalogDataDir()), 'utf8')) as QemuCatalog;
  cache.set(want, cat);
  return cat;
}

/** Result of resolving a `-cpu` model name the way QEMU does for a machine type. */
export interface ResolvedModel {
  /** The name as given. */
  requested: string;
  /** The catalog entry of the requested name. */
  entry: CatalogModel;
  /** The versioned model whose definition is used (`Skylake-Client-v1`), or the name itself for specials / legacy. */
  resolved: string;
  /** What QEMU reports as `alias-of` for this machine type (null for versioned names, specials, legacy types). */
  aliasOf: string | null;
  /** Normalised machine type key used (`none`, `pc-q35-7.2`, `legacy`). */
  machine: string;
  /** Canonical features ON under TCG. */
  features: string[];
  vendor: string | null;
  notes: string[];
}

/**
 * How a machine type resolves unversioned model names. QEMU 7.2 hw/i386: the pc-*-4.0 and older
 * machine classes use CPU_VERSION_LEGACY (unversioned names keep their original definition = v1's
 * features, and query-cpu-definitions reports no alias-of); 4.1+ (and `-machine none`) resolve
 * them to version 1 (x86_cpu_model_resolve_version).
 */
export function machineCpuVersionKind(machine: string | undefined): 'legacy' | 'v1' {
  if (!machine || machine === 'none') return 'v1';
  // Only x86 machine types QEMU 7.2 knows: a typo must not silently pick the newest rules.
  const type = machine.split(',')[0]!.replace(/^type=/, '');
  if (!knownMachines(ver('7.2')).has(type) || /^(virt|s390-ccw-virtio)/.test(type)) {
    throw new KvcpuError('E_SMP_MACHINE_UNKNOWN', `unsupported x86 machine type '${type}'`, {
      hint: 'use pc, q35, pc-q35-7.2, pc-i440fx-4.0, microvm... (qemu-system-x86_64 -machine help)',
    });
  }
  const m = /^pc-(?:i440fx|q35)-(\d+)\.(\d+)$/.exec(machine);
  if (!m) return 'v1'; // `pc`, `q35`, `microvm`: latest machine → version 1
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major < 4 || (major === 4 && minor <= 0) ? 'legacy' : 'v1';
}

/**
 * Resolve a model name (`Skylake-Client`, `Skylake-Client-v3`, `EPYC-IBPB`, `max`) for a machine
 * type. Names are case-sensitive like QEMU's class lookup; an unknown name is E_CPU_MODEL_UNKNOWN.
 */
export function resolveModel(name: string, machine?: string, catalog: QemuCatalog = loadCatalog()): ResolvedModel {
  const entry = catalog.models.find((m) => m.name === name);
  if (!entry) {
    const s = didYouMean(
      name,
      catalog.models.map((m) => m.name),
    );
    throw new KvcpuError('E_CPU_MODEL_UNKNOWN', `unknown CPU model '${name}' (QEMU ${catalog.qemu.version})`, {
      hint: s ? `${s} (\`kvcpu models\` lists them)` : '`kvcpu models` lists the models this QEMU knows',
      details: {
        suggestions: suggestNames(
          name,
          catalog.models.map((m) => m.name),
        ),
      },
    });
  }
  const kind = machineCpuVersionKind(machine);
  const key = kind === 'legacy' ? 'legacy' : machine && catalog.aliasResolution[machine] ? machine : 'none';
  const notes: string[] = [];
  let resolved = entry.name;
  let aliasOf: string | null = null;
  if (entry.kind === 'alias') {
    const target = catalog.aliasResolution.none?.[entry.name] ?? entry.aliasOf;
    if (kind === 'legacy') {
      // Legacy machine types report no alias-of; the model keeps its original definition, whose
      // features equal the v1 (or the named variant's fixed version) definition.
      notes.push(`machine ${machine} uses legacy CPU model versions: no alias-of is reported, features are those of ${target ?? entry.name}`);
    } else {
      aliasOf = target;
    }
    if (target) resolved = target;
  }
  const def = catalog.models.find((m) => m.name === resolved) ?? entry;
  return { requested: name, entry, resolved, aliasOf, machine: key, features: def.features, vendor: def.vendor ?? entry.vendor, notes };
}

/** Models as `-cpu help` lists them, excluding nothing; helper for callers that want only runnable ones. */
export function listModels(catalog: QemuCatalog = loadCatalog()): CatalogModel[] {
  return catalog.models;
}

/** Features of `max` under TCG = everything TCG can give a guest (QEMU 7.2 x86_cpu_get_supported_feature_word). */
export function tcgSupported(catalog: QemuCatalog = loadCatalog()): Set<string> {
  return new Set(catalog.models.find((m) => m.name === 'max')?.features ?? []);
}
