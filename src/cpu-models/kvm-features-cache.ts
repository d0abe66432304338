import { readFileSync, realpathSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { kvcpuVersion } from '../core/package-root.ts';
import type { AccelFeatures } from './runnability.ts';

/**
 * The identity of everything QEMU's KVM expansion of `-cpu host` depends on, as the key of its
 * per-user cache entry (io/probe-cache.ts): the QEMU binary (resolved path, inode, size, mtime:
 * an upgrade or rebuild changes them), the kernel (release, and the boot: microcode and module
 * parameters given at boot), and the /dev/kvm node (inode, device number, ctime: reloading
 * kvm_intel/kvm_amd with other parameters re-creates it). The kvcpu version is in the key so a
 * newer kvcpu never reads an older kvcpu's answer. Null when one of them cannot be read: then
 * nothing is cached.
 */
export function kvmFeaturesKey(opts: { qemu: string; kvmDevice?: string; bootIdFile?: string }): unknown {
  try {
    const path = realpathSync(opts.qemu);
    const q = statSync(path);
    const k = statSync(opts.kvmDevice ?? '/dev/kvm');
    const boot = readFileSync(opts.bootIdFile ?? '/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return {
      kvcpu: kvcpuVersion(),
      qemu: { path, ino: q.ino, size: q.size, mtimeMs: q.mtimeMs },
      kernel: release(),
      boot,
      kvm: { ino: k.ino, rdev: k.rdev, ctimeMs: k.ctimeMs },
    };
  } catch {
    return null;
  }
}

/**
 * AccelFeatures as JSON (Sets as sorted arrays) and back. The cache file is read back by hand,
 * not by a zod schema: loading zod costs more start-up than the cache saves on a short command;
 * anything that is not exactly this shape is a miss (the probe runs again).
 */
export const accelFeaturesCodec = {
  encode(f: AccelFeatures): unknown {
    return { ...f, features: [...f.features].sort(), ...(f.unmigratable ? { unmigratable: [...f.unmigratable].sort() } : {}) };
  },
  decode(v: unknown): AccelFeatures | undefined {
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
    if (o.accel !== 'kvm' || o.source !== 'qemu-live' || o.exact !== true || !strings(o.features) || !strings(o.notes)) return undefined;
    if (o.unmigratable !== undefined && !strings(o.unmigratable)) return undefined;
    if (o.refusedMsrs !== undefined && !(Array.isArray(o.refusedMsrs) && o.refusedMsrs.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)))
      return undefined;
    if (o.tscScaling !== undefined && typeof o.tscScaling !== 'boolean') return undefined;
    return {
      accel: 'kvm',
      source: 'qemu-live',
      exact: true,
      features: new Set(o.features),
      ...(o.unmigratable !== undefined ? { unmigratable: new Set(o.unmigratable as string[]) } : {}),
      ...(o.refusedMsrs !== undefined ? { refusedMsrs: o.refusedMsrs as number[] } : {}),
      ...(o.tscScaling !== undefined ? { tscScaling: o.tscScaling } : {}),
      notes: o.notes,
    };
  },
};
