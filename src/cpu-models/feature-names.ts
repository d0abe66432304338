import { readFileSync } from 'node:fs';
import { catalogDataDir } from './catalog.ts';
import type { FeatureRow, FeatureTable } from './types.ts';

let table: FeatureTable | undefined;

/** The generated feature-name table (src/cpu-models/data/feature-names.json). */
export function featureTable(): FeatureTable {
  table ??= JSON.parse(readFileSync(new URL('feature-names.json', catalogDataDir()), 'utf8')) as FeatureTable;
  return table;
}

interface Indexes {
  byQemu: Map<string, FeatureRow[]>;
  byQemuAlias: Map<string, string>;
  byLibvirt: Map<string, FeatureRow>;
  byLinux: Map<string, FeatureRow[]>;
}
let indexes: Indexes | undefined;
function idx(): Indexes {
  if (indexes) return indexes;
  const t = featureTable();
  const byQemu = new Map<string, FeatureRow[]>();
  const byQemuAlias = new Map<string, string>();
  const byLibvirt = new Map<string, FeatureRow>();
  const byLinux = new Map<string, FeatureRow[]>();
  for (const r of t.rows) {
    if (r.qemu) {
      byQemu.set(r.qemu, [...(byQemu.get(r.qemu) ?? []), r]);
      for (const a of r.qemuAliases) byQemuAlias.set(a, r.qemu);
    }
    if (r.libvirt) byLibvirt.set(r.libvirt, r);
    if (r.linux.flag) byLinux.set(r.linux.flag, [...(byLinux.get(r.linux.flag) ?? []), r]);
  }
  indexes = { byQemu, byQemuAlias, byLibvirt, byLinux };
  return indexes;
}

/** The table row(s) of a QEMU feature name (canonical or alias). kvmclock has two bits. */
export function rowsForQemu(name: string): FeatureRow[] {
  const i = idx();
  const canon = i.byQemu.has(name) ? name : i.byQemuAlias.get(name);
  return canon ? (i.byQemu.get(canon) ?? []) : [];
}

/** Canonical QEMU name of a QEMU alias (`sse4_1` → `sse4.1`), or the name itself when canonical; null when QEMU has no such property. */
export function canonicalQemuName(name: string): string | null {
  const i = idx();
  if (i.byQemu.has(name)) return name;
  return i.byQemuAlias.get(name) ?? null;
}

export type Vocabulary = 'qemu' | 'libvirt' | 'linux';

/**
 * Translate a feature name from any vocabulary into QEMU's canonical `-cpu` name. Tries QEMU
 * names (and aliases), then libvirt names, then Linux /proc/cpuinfo names. Null when no QEMU
 * property exists for it (libvirt-only `cmt`, Linux-only `constant_tsc`...).
 */
export function toQemuName(name: string, from?: Vocabulary): string | null {
  const i = idx();
  if (!from || from === 'qemu') {
    const c = canonicalQemuName(name);
    if (c || from === 'qemu') return c;
  }
  if (!from || from === 'libvirt') {
    const r = i.byLibvirt.get(name);
    if (r) return r.qemu;
    // libvirt's own alias hints (`sse3`, `md_clear`)
    for (const row of featureTable().rows) if (row.libvirtAliases.some((a) => a.name === name)) return row.qemu;
    if (from === 'libvirt') return null;
  }
  const rows = i.byLinux.get(name);
  return rows?.[0]?.qemu ?? null;
}

/** libvirt cpu_map name of a feature given in any vocabulary (null: libvirt has none). */
export function toLibvirtName(name: string, from?: Vocabulary): string | null {
  const i = idx();
  if (from === 'libvirt' || (!from && i.byLibvirt.has(name))) return i.byLibvirt.has(name) ? name : null;
  const q = toQemuName(name, from);
  if (q) return rowsForQemu(q)[0]?.libvirt ?? null;
  const rows = i.byLinux.get(name);
  return rows?.[0]?.libvirt ?? null;
}

/** The /proc/cpuinfo flag Linux prints for a feature (null: hidden or never printed — see `linuxInfo`). */
export function toLinuxName(name: string, from?: Vocabulary): string | null {
  return linuxInfo(name, from)?.flag ?? null;
}

/** Full Linux visibility info (flag, hidden, note) of a feature. */
export function linuxInfo(name: string, from?: Vocabulary): FeatureRow['linux'] | null {
  const i = idx();
  if (from === 'linux') return i.byLinux.has(name) ? { flag: name, hidden: false } : null;
  const q = toQemuName(name, from);
  if (q) return rowsForQemu(q)[0]?.linux ?? null;
  const lv = i.byLibvirt.get(name);
  return lv ? lv.linux : null;
}

/**
 * Translate /proc/cpuinfo flags into QEMU feature names (lossy: hidden bits and MSR features
 * cannot be learned from cpuinfo; synthetic flags map by vendor). Returns the QEMU names plus the
 * flags that have no QEMU property.
 */
export function cpuinfoFlagsToQemu(flags: string[], vendor: string | null): { qemu: string[]; unknown: string[] } {
  const t = featureTable();
  const amd = vendor === 'AuthenticAMD' || vendor === 'HygonGenuine';
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const f of flags) {
    const syn = t.linuxSynthetic[f];
    if (syn) {
      for (const q of amd ? syn.amd : syn.intel) out.add(q);
      continue;
    }
    const rows = idx().byLinux.get(f);
    const q = rows?.find((r) => r.qemu)?.qemu;
    if (q) out.add(q);
    else unknown.push(f);
  }
  return { qemu: [...out].sort(), unknown };
}

/**
 * Predict the /proc/cpuinfo flags a Linux guest shows for a set of QEMU features: only bits with
 * a printed name; hidden, MSR and paravirt bits are left out (the guest kernel may add synthetic
 * and software flags of its own — compare only on what this returns). With `vendor`, flags the
 * kernel derives by vendor rule are included too (`linuxAdded`).
 */
export function predictCpuinfoFlags(qemuFeatures: Iterable<string>, vendor?: string | null): { shown: string[]; invisible: string[]; linuxAdded: string[] } {
  const shown = new Set<string>();
  const invisible: string[] = [];
  const all = new Set(qemuFeatures);
  for (const q of all) {
    const rows = rowsForQemu(q);
    const flags = rows.map((r) => r.linux.flag).filter((f): f is string => f !== null);
    if (flags.length) for (const f of flags) shown.add(f);
    else invisible.push(q);
  }
  const linuxAdded: string[] = [];
  // Linux arch/x86/kernel/cpu/amd.c init_amd: "3DNow or LM implies PREFETCHW" — AMD (and Hygon)
  // guests show 3dnowprefetch even when CPUID does not set it (verified in a TCG guest: qemu64).
  if ((vendor === 'AuthenticAMD' || vendor === 'HygonGenuine') && (all.has('lm') || all.has('3dnow')) && !shown.has('3dnowprefetch')) {
    shown.add('3dnowprefetch');
    linuxAdded.push('3dnowprefetch');
  }
  return { shown: [...shown].sort(), invisible: invisible.sort(), linuxAdded };
}
