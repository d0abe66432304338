import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { readProbeCache, writeProbeCache } from '../io/probe-cache.ts';

/**
 * Probes of the QEMU installation, shared by every command and the agent: asynchronous,
 * cached per binary and bounded in time, so a server never blocks on them (the answer of a
 * slow or hung binary is "unknown" after PROBE_TIMEOUT_MS, not a stalled request).
 */
export const PROBE_TIMEOUT_MS = 5_000;

/** True when the QEMU binary is on PATH (or the given path is executable). A PATH walk, no child process. */
export function qemuAvailable(binary = 'qemu-system-x86_64'): boolean {
  return findQemu(binary) !== null;
}

/** The path the QEMU binary runs from (first executable on PATH, or the given path), null when absent. */
export function findQemu(binary = 'qemu-system-x86_64'): string | null {
  const candidates = binary.includes('/')
    ? [binary]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, binary));
  return (
    candidates.find((p) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null
  );
}

const versions = new Map<string, Promise<string | null>>();

/**
 * `qemu-system-x86_64 --version` → `7.2.22`; null when the binary is absent, prints no version
 * or does not answer within PROBE_TIMEOUT_MS. Asked once per binary per process.
 */
export function qemuVersion(binary = 'qemu-system-x86_64'): Promise<string | null> {
  let hit = versions.get(binary);
  if (!hit) {
    const path = findQemu(binary);
    // Across processes, the answer is kept in the per-user probe cache for this very binary
    // file (resolved path, inode, size, mtime: an upgrade changes them); only a version is kept.
    const key = path === null ? null : binaryKey(path);
    const cached = key === null ? undefined : readProbeCache('qemu-version', key);
    hit =
      path === null
        ? Promise.resolve(null)
        : typeof cached === 'string'
          ? Promise.resolve(cached)
          : new Promise((resolve) => {
              execFile(binary, ['--version'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS }, (_err, stdout) => {
                const v = /version (\d+\.\d+\.\d+)/.exec(stdout ?? '')?.[1] ?? null;
                if (v !== null && key !== null) writeProbeCache('qemu-version', key, v);
                resolve(v);
              });
            });
    versions.set(binary, hit);
  }
  return hit;
}

/** A binary file's identity for the probe cache; null when it cannot be read. */
function binaryKey(path: string): unknown {
  try {
    const real = realpathSync(path);
    const st = statSync(real);
    return { path: real, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}
