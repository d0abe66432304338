/**
 * Regenerate src/cpu-models/data/qemu-<version>-x86-props.json from the installed QEMU: the x86 CPU
 * properties `-cpu` can set and what QEMU's realize does with some of them, asked from QEMU itself:
 *   types         qom-list-properties of a named model class (QEMU 7.2 x86_cpu_properties + the
 *                 per-class registrations in x86_cpu_common_class_init), non-feature entries
 *   classOnly     properties only some classes have (max_x86_cpu_class_init: migratable,
 *                 host-cache-info exist on max/host only)
 *   readOnly      properties QEMU refuses to set ("is not writable")
 *   dependencies  parent → children QEMU clears when the parent is off (feature_dependencies in
 *                 x86_cpu_expand_features), from static expansions of `base` with every feature on
 *   vmxWithModel  the vmx-* bits a model's definition carries, visible only with +vmx
 *   cacheInfo     models whose definition has cache_info (legacy-cache=off accepted in x86_cpu_realizefn)
 * Run: `node --import tsx scripts/gen-cpu-props.ts` (~30 s). Deterministic output (sorted).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../src/cpu-models/catalog.ts';
import { expandModel, featuresOn, startCatalogQemu } from '../src/cpu-models/probe-qemu-catalog.ts';
import { installedQemuVersion } from '../src/cpu-models/live-catalog.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function refusal(cpu: string): string | null {
  const r = spawnSync('qemu-system-x86_64', ['-machine', 'pc', '-accel', 'tcg', '-cpu', cpu, '-S', '-nodefaults', '-display', 'none', '-qmp', 'stdio'], {
    input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
    encoding: 'utf8',
    timeout: 20_000,
  });
  return r.status === 0 ? null : r.stderr;
}

async function main(): Promise<void> {
  const version = await installedQemuVersion();
  if (!version) throw new Error('qemu-system-x86_64 not found');
  const mm = version.split('.').slice(0, 2).join('.');
  const catalog = loadCatalog(mm);
  const featureNames = new Set([...catalog.features, ...Object.keys(catalog.aliases)]);
  const q = await startCatalogQemu({ accel: 'tcg' });
  try {
    const list = async (t: string) =>
      (await q.qmp.execute<{ name: string; type: string }[]>('qom-list-properties', { typename: `${t}-x86_64-cpu` })).filter((p) => !featureNames.has(p.name));
    const named = await list('qemu64');
    const max = await list('max');
    const types = Object.fromEntries(named.map((p) => [p.name, p.type]).sort());
    const namedSet = new Set(named.map((p) => p.name));
    const maxOnly = max.filter((p) => !namedSet.has(p.name));
    for (const p of maxOnly) types[p.name] = p.type;
    const readOnly = Object.entries(types)
      .filter(([, t]) => t !== 'bool')
      .filter(([name]) => (refusal(`qemu64,${name}=0`) ?? '').includes('is not writable'))
      .map(([n]) => n)
      .sort();
    // base + every feature on, then the same with one parent off: what disappears depends on it.
    const all = Object.fromEntries(catalog.features.map((f) => [f, true]));
    const full = new Set(featuresOn(await expandModel(q, 'base', 'static', all)));
    const dependencies: Record<string, string[]> = {};
    for (const parent of catalog.features) {
      if (!full.has(parent)) continue;
      const without = new Set(featuresOn(await expandModel(q, 'base', 'static', { ...all, [parent]: false })));
      const gone = [...full].filter((f) => f !== parent && !without.has(f)).sort();
      if (gone.length) dependencies[parent] = gone;
    }
    const vmxWithModel: Record<string, string[]> = {};
    for (const m of catalog.models) {
      if (m.name === 'host') continue;
      const vmx = featuresOn(await expandModel(q, m.name, 'static', { vmx: true })).filter((f) => f.startsWith('vmx-'));
      if (vmx.length) vmxWithModel[m.name] = vmx;
    }
    const cacheInfo = catalog.models
      .filter((m) => m.name !== 'host')
      .filter((m) => !(refusal(`${m.name},legacy-cache=off,check=off`) ?? '').includes("doesn't support legacy-cache=off"))
      .map((m) => m.name)
      .sort();
    const out = {
      schema: 'kvcpu/qemu-cpu-props/1',
      qemu: { version },
      generatedBy: 'scripts/gen-cpu-props.ts: qom-list-properties qemu64/max-x86_64-cpu; query-cpu-model-expansion static; -cpu probes under TCG',
      types,
      classOnly: { 'max-and-host': maxOnly.map((p) => p.name).sort() },
      readOnly,
      dependencies,
      vmxWithModel,
      cacheInfo,
    };
    const file = join(repo, `src/cpu-models/data/qemu-${mm}-x86-props.json`);
    writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
    process.stdout.write(
      `wrote ${file}: ${Object.keys(types).length} properties, ${Object.keys(dependencies).length} parents, ${Object.keys(vmxWithModel).length} models with vmx bits, ${cacheInfo.length} with cache_info\n`,
    );
  } finally {
    await q.stop();
  }
}

void main();
