import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';

/** Where the cpuset controller lives: a v1 hierarchy (per-thread `tasks`) or cgroup2. */
export interface CpusetMount {
  version: 1 | 2;
  /** Mount point, e.g. /sys/fs/cgroup/cpuset (v1) or /sys/fs/cgroup (v2). */
  mountPoint: string;
}

/**
 * Find the cpuset controller from mountinfo (proc(5) mountinfo: field 5 is the mount point,
 * after " - " come fstype, source, super options). v1: fstype `cgroup` with `cpuset` in the
 * super options. v2: fstype `cgroup2` whose cgroup.controllers lists cpuset. Hybrid hosts
 * (like these dev machines) have both; the one that owns cpuset wins. Null when none.
 */
export function parseCpusetMount(mountinfo: string, hasV2Cpuset: (mountPoint: string) => boolean): CpusetMount | null {
  let v2: CpusetMount | null = null;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = (left[4] ?? '').replace(/\\040/g, ' ');
    const fstype = right[0];
    const superOpts = (right[2] ?? '').split(',');
    if (fstype === 'cgroup' && superOpts.includes('cpuset')) return { version: 1, mountPoint };
    if (fstype === 'cgroup2' && !v2 && hasV2Cpuset(mountPoint)) v2 = { version: 2, mountPoint };
  }
  return v2;
}

export function detectCpusetMount(root = '/'): CpusetMount | null {
  let text: string;
  try {
    text = readFileSync(join(root, 'proc/self/mountinfo'), 'utf8');
  } catch {
    return null;
  }
  return parseCpusetMount(text, (mp) => {
    try {
      return readFileSync(join(root, mp, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpuset');
    } catch {
      return false;
    }
  });
}

/** The cgroup path (relative to the mount) of a thread for the cpuset controller. */
export function readThreadCgroup(root: string, mount: CpusetMount, pid: number, tid: number): string | null {
  try {
    const text = readFileSync(join(root, 'proc', String(pid), 'task', String(tid), 'cgroup'), 'utf8');
    for (const line of text.split('\n')) {
      // hierarchy-ID:controller-list:cgroup-path (cgroups(7))
      const m = /^(\d+):([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      if (mount.version === 1 && m[2]!.split(',').includes('cpuset')) return m[3]!;
      if (mount.version === 2 && m[1] === '0') return m[3]!;
    }
  } catch {
    return null;
  }
  return null;
}

/** Effective CPUs of a thread's cpuset cgroup, null when unknown. */
export function readThreadCpuset(root: string, mount: CpusetMount | null, pid: number, tid: number): number[] | null {
  if (!mount) return null;
  const cg = readThreadCgroup(root, mount, pid, tid);
  if (cg === null) return null;
  const file = mount.version === 1 ? 'cpuset.effective_cpus' : 'cpuset.cpus.effective';
  try {
    return parseCpulist(readFileSync(join(root, mount.mountPoint, cg, file), 'utf8'));
  } catch {
    return null;
  }
}

export interface CgroupMove {
  tid: number;
  /** Cgroup the thread was in before (relative to the mount). */
  from: string;
  /** Leaf created for it. */
  to: string;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new KvcpuError('E_CGROUP', `cannot write "${value}" to ${path}: ${(e as Error).message}`, {
      hint: 'kvcpu needs root to manage cpuset cgroups; run without --cgroup to use affinity only',
      cause: e,
    });
  }
}

/**
 * Per-guest cpuset cgroups, v1 layout (what these hosts have; libvirt uses the same shape:
 * machine/<dom>/{emulator,vcpuN}). Each leaf gets cpuset.cpus, then cpuset.mems (v1 refuses
 * tasks while either is empty, Documentation/admin-guide/cgroup-v1/cpusets.rst), then the
 * thread goes into `tasks` (per TID; cgroup.procs would move the whole process).
 * cgroup v2 needs threaded subtrees (cgroup.type=threaded, cgroup.threads): not implemented,
 * so v2 hosts get E_CGROUP_UNSUPPORTED and should pin without --cgroup.
 */
export class CpusetManager {
  readonly mount: CpusetMount;
  private readonly sysRoot: string;
  private readonly created: string[] = [];
  readonly moves: CgroupMove[] = [];

  constructor(mount: CpusetMount, root = '/') {
    if (mount.version !== 1) {
      throw new KvcpuError('E_CGROUP_UNSUPPORTED', 'cgroup v2 cpuset placement of single threads is not implemented', {
        hint: 'pin without --cgroup (sched_setaffinity works on every layout)',
      });
    }
    this.mount = mount;
    this.sysRoot = join(root, mount.mountPoint);
  }

  private ensureDir(rel: string): void {
    const abs = join(this.sysRoot, rel);
    if (existsSync(abs)) return;
    const parent = join(abs, '..');
    mkdirSync(abs);
    this.created.push(rel);
    // A new v1 cpuset starts empty: inherit the parent's CPUs and memory nodes.
    write(join(abs, 'cpuset.cpus'), readFileSync(join(parent, 'cpuset.cpus'), 'utf8').trim() || '0');
    write(join(abs, 'cpuset.mems'), readFileSync(join(parent, 'cpuset.mems'), 'utf8').trim() || '0');
  }

  /** Create kvcpu/<guest>/<leaf> with `cpus`, and move TID into it. */
  place(guestDir: string, leaf: string, tid: number, from: string, cpus: string): void {
    this.ensureDir('kvcpu');
    this.ensureDir(`kvcpu/${guestDir}`);
    const rel = `kvcpu/${guestDir}/${leaf}`;
    this.ensureDir(rel);
    write(join(this.sysRoot, rel, 'cpuset.cpus'), cpus);
    write(join(this.sysRoot, rel, 'tasks'), String(tid));
    this.moves.push({ tid, from, to: rel });
  }

  /** Move threads back where they were and remove what was created (best effort). */
  undo(): string[] {
    const errors: string[] = [];
    for (const m of [...this.moves].reverse()) {
      try {
        writeFileSync(join(this.sysRoot, m.from, 'tasks'), String(m.tid));
      } catch (e) {
        if ((e as { code?: string }).code !== 'ESRCH') errors.push(`tid ${m.tid}: ${(e as Error).message}`);
      }
    }
    this.moves.length = 0;
    for (const rel of [...this.created].reverse()) {
      try {
        rmdirSync(join(this.sysRoot, rel));
      } catch (e) {
        errors.push(`rmdir ${rel}: ${(e as Error).message}`);
      }
    }
    this.created.length = 0;
    return errors;
  }
}

/** Move threads back to their recorded cgroups and remove kvcpu's leaves (unpin). */
export function restoreCgroupMoves(root: string, mount: CpusetMount, moves: CgroupMove[]): string[] {
  const base = join(root, mount.mountPoint);
  const errors: string[] = [];
  const dirs = new Set<string>();
  for (const m of moves) {
    dirs.add(m.to);
    try {
      writeFileSync(join(base, m.from, 'tasks'), String(m.tid));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') errors.push(`tid ${m.tid}: ${(e as Error).message}`);
    }
  }
  const parents = new Set<string>();
  for (const d of dirs) {
    parents.add(d.split('/').slice(0, 2).join('/'));
    try {
      rmdirSync(join(base, d));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') errors.push(`rmdir ${d}: ${(e as Error).message}`);
    }
  }
  for (const p of [...parents, 'kvcpu']) {
    try {
      rmdirSync(join(base, p));
    } catch {
      // still used by another guest's leaves: keep it
    }
  }
  return errors;
}
