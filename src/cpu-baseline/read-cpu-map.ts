import { dataPath } from '../core/package-root.ts';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KvcpuError } from '../core/errors.ts';
import type { LibvirtCpuMap } from './cpu-map-types.ts';
import { parseCpuMap } from './parse-cpu-map.ts';

/** Where Debian/Fedora's libvirt0 / libvirt-libs install the CPU map. */
export const LIBVIRT_CPU_MAP_DIR = '/usr/share/libvirt/cpu_map';

/** The shipped libvirt cpu_map snapshot (src/cpu-baseline/data; dist/data/cpu-baseline in a build). */
export function snapshotPath(): string {
  return dataPath('cpu-baseline', 'libvirt-cpu-map.json');
}

/** Read and parse an installed cpu_map directory (`root` prefix for captured trees). */
export function readInstalledCpuMap(dir: string, libvirtVersion = 'installed'): LibvirtCpuMap {
  return parseCpuMap((f) => readFileSync(join(dir, f), 'utf8'), {
    libvirt: libvirtVersion,
    path: dir,
    generatedBy: 'kvcpu read-cpu-map (live)',
  });
}

export function readSnapshotCpuMap(path = snapshotPath()): LibvirtCpuMap {
  if (!existsSync(path)) {
    throw new KvcpuError('E_CPU_MAP_MISSING', `libvirt CPU map snapshot ${path} is missing`, {
      hint: 'regenerate it with `node --import tsx scripts/gen-libvirt-cpu-map.ts` on a machine with libvirt0 installed',
    });
  }
  return JSON.parse(readFileSync(path, 'utf8')) as LibvirtCpuMap;
}

const cache = new Map<string, LibvirtCpuMap>();

export interface LoadCpuMapOptions {
  /** Root prefix for the installed map (default `/`). */
  root?: string;
  /** `installed`: only the live map; `snapshot`: only the shipped one; `auto` (default): live when present. */
  source?: 'auto' | 'installed' | 'snapshot';
}

/** The libvirt CPU map: the installed one when libvirt is installed, else the shipped snapshot. */
export function loadCpuMap(opts: LoadCpuMapOptions = {}): LibvirtCpuMap {
  const source = opts.source ?? (process.env.KVCPU_LIBVIRT_CPU_MAP === 'snapshot' ? 'snapshot' : 'auto');
  const dir = join(opts.root ?? '/', LIBVIRT_CPU_MAP_DIR);
  const key = `${source}:${dir}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let map: LibvirtCpuMap;
  if (source !== 'snapshot' && existsSync(join(dir, 'index.xml'))) map = readInstalledCpuMap(dir);
  else if (source === 'installed') {
    throw new KvcpuError('E_CPU_MAP_MISSING', `no libvirt CPU map at ${dir}`, { hint: 'apt-get install libvirt0' });
  } else map = readSnapshotCpuMap();
  cache.set(key, map);
  return map;
}
