// Test helpers: locate ../shared/reference/cpu and turn its JSON CPU definitions into CpuDefs.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { emptyCpuDef, type CpuDef, type FeaturePolicy } from './cpu-def.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REF_DIR = path.resolve(repoRoot, '../shared/reference/cpu');
export const haveReference = existsSync(path.join(REF_DIR, 'baseline-cases.json'));
export const SKIP_REASON = `reference data missing at ${REF_DIR} (tests need ../shared/reference/cpu)`;

export function readRef<T = any>(file: string): T {
  return JSON.parse(readFileSync(path.join(REF_DIR, file), 'utf8')) as T;
}

export interface RefCpu {
  model?: string | null;
  vendor?: string;
  mode?: string;
  match?: string;
  fallback?: string;
  require?: string[];
  disable?: string[];
  force?: string[];
  optional?: string[];
  forbid?: string[];
}

/** A reference definition as a CpuDef: host type (features without policy) unless it carries mode/match. */
export function refToDef(c: RefCpu, label: string, arch: string | null = null, forceType?: 'host' | 'guest'): CpuDef {
  const guest = forceType ? forceType === 'guest' : c.mode !== undefined || c.match !== undefined;
  const d = emptyCpuDef(label, 'libvirt-xml', guest ? 'guest' : 'host');
  d.model = c.model ?? null;
  d.vendor = c.vendor ?? null;
  d.arch = arch;
  if (guest) {
    d.mode = c.mode ?? 'custom';
    d.match = c.match ?? 'exact';
  }
  for (const p of ['require', 'force', 'optional', 'disable', 'forbid'] as FeaturePolicy[]) {
    for (const n of c[p] ?? []) d.features.push({ name: n, policy: p });
  }
  return d;
}

/** Render a reference definition as host-format libvirt XML (what `virsh cpu-baseline` reads). */
export function refToHostXml(c: RefCpu): string {
  return [
    '<cpu>',
    '  <arch>x86_64</arch>',
    ...(c.model ? [`  <model>${c.model}</model>`] : []),
    ...(c.vendor ? [`  <vendor>${c.vendor}</vendor>`] : []),
    ...(c.require ?? []).map((f) => `  <feature name='${f}'/>`),
    '</cpu>',
  ].join('\n');
}
