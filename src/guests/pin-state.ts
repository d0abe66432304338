import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgroupMove, CpusetMount } from './cgroup-cpuset.ts';
import type { LibvirtPin } from './libvirt-pins.ts';

/** What `kvcpu pin` saved so `kvcpu unpin` can put things back. */
export interface PinState {
  kind: 'kvcpu-pin-state';
  pid: number;
  /** stat field 22: with pid, identifies the process (PIDs wrap: pid_max is 32768 here). */
  startTime: number;
  guest: string;
  savedAt: string;
  threads: { tid: number; comm: string; label: string; before: string; after: string }[];
  cgroup: { mount: CpusetMount; moves: CgroupMove[] } | null;
  /** Pinned through libvirt (virsh): unpin restores through virsh too. */
  libvirt?: LibvirtPin[];
}

/**
 * Where pin state lives: $KVCPU_STATE_DIR, else /run/kvcpu for root (tmpfs: state dies with
 * the boot, as the pinned processes do), else $XDG_RUNTIME_DIR/kvcpu, else the temp dir.
 */
export function pinStateDir(): string {
  if (process.env.KVCPU_STATE_DIR) return process.env.KVCPU_STATE_DIR;
  if (process.getuid?.() === 0) return '/run/kvcpu';
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, 'kvcpu');
  return join(tmpdir(), `kvcpu-${process.getuid?.() ?? 'user'}`);
}

function statePath(dir: string, pid: number, startTime: number): string {
  return join(dir, `pin-${pid}-${startTime}.json`);
}

export function loadPinState(pid: number, startTime: number, dir = pinStateDir()): PinState | null {
  try {
    const s = JSON.parse(readFileSync(statePath(dir, pid, startTime), 'utf8')) as PinState;
    return s.kind === 'kvcpu-pin-state' && s.pid === pid && s.startTime === startTime ? s : null;
  } catch {
    return null;
  }
}

/**
 * Record a pin. When the guest was already pinned by kvcpu, keep the FIRST `before` of each
 * thread, so unpin returns to the affinity the guest had before kvcpu touched it.
 */
export function savePinState(state: PinState, dir = pinStateDir()): string {
  const prev = loadPinState(state.pid, state.startTime, dir);
  if (prev) {
    const firstBefore = new Map(prev.threads.map((t) => [t.tid, t.before]));
    const merged = new Map(prev.threads.map((t) => [t.tid, t]));
    for (const t of state.threads) merged.set(t.tid, { ...t, before: firstBefore.get(t.tid) ?? t.before });
    state = {
      ...state,
      threads: [...merged.values()].sort((a, b) => a.tid - b.tid),
      cgroup: prev.cgroup && state.cgroup ? { mount: state.cgroup.mount, moves: [...prev.cgroup.moves, ...state.cgroup.moves] } : (state.cgroup ?? prev.cgroup),
      libvirt: mergeLibvirtPins(prev.libvirt, state.libvirt),
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  prunePinStates(dir);
  const path = statePath(dir, state.pid, state.startTime);
  // A per-writer temp name then rename(2): a reader sees the old file or the new one, never a torn
  // one, and a failed write (ENOSPC) leaves the old state in place.
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return path;
}

/** Keep the first `before` (and stored config) of each libvirt target across repeated pins. */
function mergeLibvirtPins(prev: LibvirtPin[] | undefined, next: LibvirtPin[] | undefined): LibvirtPin[] | undefined {
  if (!prev?.length) return next;
  if (!next?.length) return prev;
  const key = (p: LibvirtPin) => `${p.domain}/${p.what}/${p.id}`;
  const merged = new Map(prev.map((p) => [key(p), p]));
  for (const p of next) {
    const old = merged.get(key(p));
    // What the domain XML held before kvcpu's FIRST pin decides what unpin restores or removes.
    const had =
      old && old.beforeConfig !== null
        ? Object.fromEntries((['configHad', 'cputuneHad', 'iothreadidsHad'] as const).filter((k) => old[k] !== undefined).map((k) => [k, old[k]]))
        : {};
    merged.set(key(p), old ? { ...p, before: old.before, beforeConfig: old.beforeConfig ?? p.beforeConfig, ...had } : p);
  }
  return [...merged.values()];
}

export function removePinState(pid: number, startTime: number, dir = pinStateDir()): void {
  rmSync(statePath(dir, pid, startTime), { force: true });
}

/** Drop state files of processes that no longer exist (same pid + start time = same process). */
export function prunePinStates(dir = pinStateDir(), root = '/'): number {
  let removed = 0;
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const f of files) {
    const m = /^pin-(\d+)-(\d+)\.json$/.exec(f);
    if (!m) continue;
    let alive: boolean;
    try {
      const s = readFileSync(join(root, 'proc', m[1]!, 'stat'), 'latin1');
      alive = s.slice(s.lastIndexOf(')') + 2).split(' ')[19] === m[2];
    } catch {
      alive = false;
    }
    if (!alive) {
      rmSync(join(dir, f), { force: true });
      removed++;
    }
  }
  return removed;
}
