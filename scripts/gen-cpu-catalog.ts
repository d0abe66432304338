/**
 * Regenerate kvcpu's CPU model snapshots from the QEMU (and libvirt) installed on this machine:
 *   src/cpu-models/data/qemu-<version>-x86.json   QEMU's x86 catalog (TCG: host-independent)
 *   src/cpu-models/data/feature-names.json        CPUID/MSR bit → QEMU / libvirt / Linux names
 * Run: `npm run gen`. Needs qemu-system-x86_64; libvirt's cpu_map comes from Debian's `libvirt0`
 * package (/usr/share/libvirt/cpu_map/x86_features.xml). Output is deterministic (sorted, no
 * timestamps) so a re-run on the same QEMU/libvirt gives byte-identical files.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeQemuCatalog } from '../src/cpu-models/probe-qemu-catalog.ts';
import { buildFeatureTable } from '../src/cpu-models/build-feature-table.ts';
import { qemuAvailable } from '../src/qmp/start-qemu.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(repo, 'src/cpu-models/data');
const LIBVIRT_FEATURES = process.env.KVCPU_LIBVIRT_CPU_MAP
  ? join(process.env.KVCPU_LIBVIRT_CPU_MAP, 'x86_features.xml')
  : '/usr/share/libvirt/cpu_map/x86_features.xml';

function libvirtVersion(): string | null {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libvirt0'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

async function main(): Promise<void> {
  if (!qemuAvailable()) {
    process.stderr.write('gen-cpu-catalog: qemu-system-x86_64 not found; keeping the shipped snapshots\n');
    process.exit(process.env.CI ? 0 : 2);
  }
  const t0 = Date.now();
  const catalog = await probeQemuCatalog();
  mkdirSync(dataDir, { recursive: true });
  const catalogFile = join(dataDir, `qemu-${catalog.qemu.version.split('.').slice(0, 2).join('.')}-x86.json`);
  writeFileSync(catalogFile, JSON.stringify(catalog, null, 1) + '\n');

  const libvirtXml = existsSync(LIBVIRT_FEATURES) ? readFileSync(LIBVIRT_FEATURES, 'utf8') : null;
  if (libvirtXml === null) {
    process.stderr.write(`gen-cpu-catalog: ${LIBVIRT_FEATURES} missing (apt-get install libvirt0): libvirt columns left empty\n`);
  }
  const lv = libvirtVersion();
  const { table, unmappedQemu } = buildFeatureTable({
    libvirtXml,
    qemuFeatures: catalog.features,
    qemuAliases: catalog.aliases,
    sources: {
      qemu: `QEMU ${catalog.qemu.version} (${catalog.qemu.package}) live query-cpu-model-expansion names; bits for libvirt-less words from target/i386/cpu.c feature_word_info`,
      libvirt: libvirtXml === null ? null : `libvirt ${lv ?? '?'} ${LIBVIRT_FEATURES}`,
      linux: 'rule: QEMU/libvirt name with -/. → _, plus the rename/hidden lists in src/cpu-models/build-feature-table.ts (Linux 6.1 cpufeatures.h)',
    },
  });
  writeFileSync(join(dataDir, 'feature-names.json'), JSON.stringify(table, null, 1) + '\n');
  process.stdout.write(
    `wrote ${catalogFile} (${catalog.models.length} models, ${catalog.features.length} features, ${Object.keys(catalog.aliases).length} aliases)\n` +
      `wrote ${join(dataDir, 'feature-names.json')} (${table.rows.length} bits)\n` +
      (unmappedQemu.length ? `QEMU features without a known bit: ${unmappedQemu.join(' ')}\n` : '') +
      `${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

await main();
