import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Probes of the QEMU installation, shared by every command and the agent: asynchronous,
 * cached per binary and bounded in time, so a server never blocks on them (the answer of a
 * slow or hung binary is "unknown" after PROBE_TIMEOUT_MS, not a stalled request).
 */
export const PROBE_TIMEOUT_MS = 5_000;

/** True when the QEMU binary is on PATH (or the given path is executable). A PATH walk, no child process. */
export function qemuAvailable(binary = 'qemu-system-x86_64'): boolean {
  const candidates = binary.includes('/') ? [binary] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, binary));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const versions = new Map<string, Promise<string | null>>();

/**
 * `qemu-system-x86_64 --version` → `7.2.22`; null when the binary is absent, prints no version
 * or does not answer within PROBE_TIMEOUT_MS. Asked once per binary per process.
 */
export function qemuVersion(binary = 'qemu-system-x86_64'): Promise<string | null> {
  let hit = versions.get(binary);
  if (!hit) {
    hit = !qemuAvailable(binary)
      ? Promise.resolve(null)
      : new Promise((resolve) => {
          execFile(binary, ['--version'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS }, (_err, stdout) => {
            resolve(/version (\d+\.\d+\.\d+)/.exec(stdout ?? '')?.[1] ?? null);
          });
        });
    versions.set(binary, hit);
  }
  return hit;
}
