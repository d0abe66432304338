// `npm run gen:nova-traits` (part of `npm run gen`): asks the installed OpenStack Nova
// (Debian python3-nova) for its libvirt CPU feature → os-traits table
// (nova/virt/libvirt/utils.py CPU_TRAITS_MAPPING) and writes src/cpu-baseline/data/nova-cpu-traits.json.
// Without Nova the shipped snapshot stays as it is.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PY = `
import json, nova.version, nova.virt.libvirt.utils as u
m = {k: (list(v) if isinstance(v, tuple) else [v]) for k, v in u.CPU_TRAITS_MAPPING.items()}
print(json.dumps({"nova": nova.version.version_string(), "mapping": m}))
`;
const r = spawnSync('/usr/bin/python3', ['-c', PY], { encoding: 'utf8' });
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'src/cpu-baseline/data/nova-cpu-traits.json');
if (r.status !== 0) {
  console.log(`Nova not installed (apt-get install python3-nova): ${out} left as shipped`);
} else {
  const d = JSON.parse(r.stdout) as { nova: string; mapping: Record<string, string[]> };
  const sorted = Object.fromEntries(Object.entries(d.mapping).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileSync(out, JSON.stringify({ source: 'nova/virt/libvirt/utils.py CPU_TRAITS_MAPPING', nova: d.nova, mapping: sorted }, null, 1) + '\n');
  console.log(`wrote ${out} (Nova ${d.nova}, ${Object.keys(sorted).length} features)`);
}
