import { existsSync } from 'node:fs';
import path from 'node:path';
import { KvcpuError } from '../core/errors.ts';
import { buildHostSnapshot } from './build-snapshot.ts';
import { readHostTree, TreeAccess } from './host-tree.ts';
import type { HostSnapshot } from './types.ts';

export interface ReadHostOptions {
  /** Root prefix for /proc and /sys (default "/": the live host). */
  root?: string;
}

/**
 * Read a host's CPUs from /proc/cpuinfo and /sys/devices/system/{cpu,node} under `root`
 * (synchronous: sysfs files are tiny and this runs once per command).
 * Throws E_SYSFS_MISSING when the root has neither sysfs CPUs nor a usable cpuinfo,
 * E_PROCFS_MISSING when /proc/cpuinfo is absent.
 */
export function readHost(opts: ReadHostOptions = {}): HostSnapshot {
  return readHostTraced(opts).snapshot;
}

/** readHost plus the record of every file it used (for `kvcpu capture`). */
export function readHostTraced(opts: ReadHostOptions = {}): { snapshot: HostSnapshot; access: TreeAccess } {
  const root = path.resolve(opts.root ?? '/');
  if (!existsSync(root)) {
    throw new KvcpuError('E_SYSFS_MISSING', `root directory ${root} does not exist`, {
      hint: 'pass --root a directory made by `kvcpu capture DIR`, or omit --root for this host',
    });
  }
  const access = new TreeAccess(root);
  const tree = readHostTree(access);
  const usableCpuinfo = tree.cpuinfo !== null && tree.cpuinfo.trim() !== '';
  if (!tree.cpuDir && !usableCpuinfo) {
    throw new KvcpuError('E_SYSFS_MISSING', `no ${path.join(root, 'sys/devices/system/cpu')} and no usable /proc/cpuinfo under ${root}`, {
      hint:
        root === '/'
          ? 'mount sysfs and procfs (mount -t sysfs sysfs /sys; mount -t proc proc /proc)'
          : 'point --root at the top of a captured tree (the directory holding proc/ and sys/)',
    });
  }
  if (tree.cpuinfo === null) {
    throw new KvcpuError('E_PROCFS_MISSING', `no ${path.join(root, 'proc/cpuinfo')}`, {
      hint: root === '/' ? 'mount procfs: mount -t proc proc /proc' : 'the captured tree lacks proc/cpuinfo: recapture it with `kvcpu capture DIR`',
    });
  }
  const snapshot = buildHostSnapshot(tree);
  snapshot.root = opts.root ?? '/';
  return { snapshot, access };
}
