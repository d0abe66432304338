// Regenerate src/cpu-baseline/data/libvirt-cpu-map.json from the installed libvirt CPU map
// (Debian 12: package libvirt0 ships /usr/share/libvirt/cpu_map/*.xml).
// Usage: node --import tsx scripts/gen-libvirt-cpu-map.ts [CPU_MAP_DIR] [OUT]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { LIBVIRT_CPU_MAP_DIR, readInstalledCpuMap, snapshotPath } from '../src/cpu-baseline/read-cpu-map.ts';

const dir = process.argv[2] ?? LIBVIRT_CPU_MAP_DIR;
const out = process.argv[3] ?? snapshotPath();

function libvirtVersion(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'libvirt0'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return `libvirt0 ${r.stdout.trim()}`;
  const v = spawnSync('virsh', ['--version'], { encoding: 'utf8' });
  return v.status === 0 ? `libvirt ${v.stdout.trim()}` : 'unknown';
}

const map = readInstalledCpuMap(dir, libvirtVersion());
map.source.generatedBy = 'node --import tsx scripts/gen-libvirt-cpu-map.ts';
writeFileSync(out, JSON.stringify(map, null, 1) + '\n');
process.stdout.write(`wrote ${out}: ${map.source.libvirt}, ${map.vendors.length} vendors, ${map.features.length} features, ${map.models.length} models\n`);
