import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A per-user cache of slow environment probes (asking QEMU under KVM costs ~0.4 s a process):
 * one JSON file per probe under `$XDG_CACHE_HOME/kvcpu` (default `~/.cache/kvcpu`,
 * `KVCPU_CACHE_DIR` overrides, `KVCPU_NO_CACHE=1` turns it off). Each entry carries the key it
 * was computed for (the identity of everything the answer depends on: binary path, size and
 * mtime, kernel release, boot, device node...); a different key is a miss and the probe runs
 * again. Writes are atomic (a temporary file renamed over the entry), so a reader never sees a
 * half-written file and racing writers leave one whole entry. A cache that cannot be read or
 * written only costs the probe: it never fails a command.
 */
export function probeCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.KVCPU_NO_CACHE === '1') return null;
  if (env.KVCPU_CACHE_DIR) return env.KVCPU_CACHE_DIR;
  // XDG Base Directory: a relative XDG_CACHE_HOME is invalid and ignored.
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME || homedir(), '.cache');
  return join(base, 'kvcpu');
}

interface Entry {
  format: 1;
  key: unknown;
  value: unknown;
}

/** The cached value of probe `name` when it was stored under exactly `key`, else undefined. */
export function readProbeCache(name: string, key: unknown, dir = probeCacheDir()): unknown {
  if (dir === null) return undefined;
  try {
    const e = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Entry;
    return e.format === 1 && JSON.stringify(e.key) === JSON.stringify(key) ? e.value : undefined;
  } catch {
    return undefined;
  }
}

/** Store `value` for probe `name` under `key` (atomically; errors are swallowed, see above). */
export function writeProbeCache(name: string, key: unknown, value: unknown, dir = probeCacheDir()): void {
  if (dir === null) return;
  const file = join(dir, `${name}.json`);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, JSON.stringify({ format: 1, key, value } satisfies Entry) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself is unusable: nothing was written
    }
  }
}

/**
 * `compute()` unless a cached answer for `key` exists; a fresh answer is stored. `key` null
 * means the inputs could not be identified: always compute, store nothing.
 */
export async function cachedProbe<T>(
  name: string,
  key: unknown,
  compute: () => Promise<T>,
  codec: { encode(v: T): unknown; decode(v: unknown): T | undefined },
  dir = probeCacheDir(),
): Promise<T> {
  if (key !== null) {
    const hit = readProbeCache(name, key, dir);
    if (hit !== undefined) {
      const decoded = codec.decode(hit);
      if (decoded !== undefined) return decoded;
    }
  }
  const value = await compute();
  if (key !== null) writeProbeCache(name, key, codec.encode(value), dir);
  return value;
}
