import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export interface HostIdentity {
  hostname: string | null;
  machineId: string | null;
}

function readTrim(file: string): string | null {
  try {
    const v = readFileSync(file, 'utf8').trim();
    return v === '' ? null : v;
  } catch {
    return null;
  }
}

/**
 * Which host this is, for the report and the fleet: the kernel's hostname
 * (`proc/sys/kernel/hostname`, what uname -n prints; the live host falls back to os.hostname())
 * and systemd's machine-id (`etc/machine-id`, machine-id(5): 32 lowercase hex digits, stable
 * across reboots and renames — the fleet's key). Both under `root`; null when unknown.
 */
export function readHostIdentity(root = '/'): HostIdentity {
  const name = readTrim(path.join(root, 'proc/sys/kernel/hostname')) ?? (path.resolve(root) === '/' ? hostname() || null : null);
  const id = readTrim(path.join(root, 'etc/machine-id'));
  // An uninitialized machine-id ("uninitialized" in early boot, or empty) is not an identity.
  return { hostname: name, machineId: id !== null && /^[0-9a-f]{32}$/.test(id) ? id : null };
}
