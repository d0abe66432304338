import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
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
      return readFileSync(join(root, mp, 'cgroup.controllers'), 'utf8')
        .split(/\s+/)
        .includes('cpuset');
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
  pid: number;
  /** The thread moved (kind thread) or the process leader (kind process, cgroup v2). */
  tid: number;
  /** Cgroup it was in before (relative to the mount). */
  from: string;
  /** Where kvcpu put it. */
  to: string;
  /** v1 moves single threads (`tasks`); v2 first moves the whole process (`cgroup.procs`). */
  kind: 'thread' | 'process';
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
 * Per-guest cpuset cgroups under kvcpu/<guest>.<pid>/<vcpuN|emulator|iothread-ID>.
 *
 * v1 (what these hosts have; libvirt uses the same shape, machine/<dom>/{emulator,vcpuN}):
 * each leaf gets cpuset.cpus, then cpuset.mems (v1 refuses tasks while either is empty,
 * Documentation/admin-guide/cgroup-v1/cpusets.rst), then the TID goes into `tasks`
 * (cgroup.procs would move the whole process).
 *
 * v2 (Documentation/admin-guide/cgroup-v2.rst "Threads"): single threads can only be placed
 * inside a threaded subtree of the cgroup their process lives in. So: create the guest dir,
 * make each leaf `cgroup.type=threaded` (the guest dir becomes "domain threaded", which may
 * hold the process itself), enable +cpuset on the way down, move the whole process into the
 * guest dir (cgroup.procs), then each TID into its leaf's `cgroup.threads`. Undo moves the
 * process back with cgroup.procs (its threads follow) and removes the dirs.
 */
export class CpusetManager {
  readonly mount: CpusetMount;
  private readonly sysRoot: string;
  private readonly created: string[] = [];
  readonly moves: CgroupMove[] = [];

  constructor(mount: CpusetMount, root = '/') {
    this.mount = mount;
    this.sysRoot = join(root, mount.mountPoint);
  }

  private ensureDir(rel: string, threaded = false): void {
    const abs = join(this.sysRoot, rel);
    if (existsSync(abs)) return;
    const parent = join(abs, '..');
    if (this.mount.version === 2) {
      // The parent must hand the cpuset controller down before the child has cpuset.* files.
      const sub = join(parent, 'cgroup.subtree_control');
      let enabled = '';
      try {
        enabled = readFileSync(sub, 'utf8');
      } catch {
        // written below; a real cgroupfs always has the file
      }
      if (!enabled.split(/\s+/).includes('cpuset')) write(sub, '+cpuset');
    }
    mkdirSync(abs);
    this.created.push(rel);
    if (this.mount.version === 1) {
      // A new v1 cpuset starts empty: inherit the parent's CPUs and memory nodes.
      write(join(abs, 'cpuset.cpus'), readFileSync(join(parent, 'cpuset.cpus'), 'utf8').trim() || '0');
      write(join(abs, 'cpuset.mems'), readFileSync(join(parent, 'cpuset.mems'), 'utf8').trim() || '0');
    } else if (threaded) write(join(abs, 'cgroup.type'), 'threaded');
  }

  /**
   * The writes `place` would make, as shell lines (`--dry-run --cgroup`); directories that
   * exist already are not listed. Changes nothing.
   */
  describePlace(guestDir: string, leaf: string, pid: number, tid: number, cpus: string): string[] {
    const out: string[] = [];
    const abs = (rel: string) => join(this.mount.mountPoint, rel);
    const seen = new Set<string>();
    const dir = (rel: string, threaded = false) => {
      if (seen.has(rel) || existsSync(join(this.sysRoot, rel)) || this.described.has(rel)) return;
      seen.add(rel);
      this.described.add(rel);
      const parentRel = rel.split('/').slice(0, -1).join('/');
      if (this.mount.version === 2) out.push(`echo +cpuset > ${abs(join(parentRel, 'cgroup.subtree_control'))}`);
      out.push(`mkdir ${abs(rel)}`);
      if (this.mount.version === 1) {
        out.push(`cat ${abs(join(parentRel, 'cpuset.cpus'))} > ${abs(join(rel, 'cpuset.cpus'))}`);
        out.push(`cat ${abs(join(parentRel, 'cpuset.mems'))} > ${abs(join(rel, 'cpuset.mems'))}`);
      } else if (threaded) out.push(`echo threaded > ${abs(join(rel, 'cgroup.type'))}`);
    };
    dir('kvcpu');
    const guestRel = `kvcpu/${guestDir}`;
    dir(guestRel);
    const rel = `${guestRel}/${leaf}`;
    dir(rel, true);
    out.push(`echo ${cpus} > ${abs(join(rel, 'cpuset.cpus'))}`);
    if (this.mount.version === 1) out.push(`echo ${tid} > ${abs(join(rel, 'tasks'))}   # move thread ${tid} of pid ${pid}`);
    else {
      if (!this.describedProcs.has(pid)) {
        this.describedProcs.add(pid);
        out.push(`echo ${pid} > ${abs(join(guestRel, 'cgroup.procs'))}   # the whole process first (cgroup v2)`);
      }
      out.push(`echo ${tid} > ${abs(join(rel, 'cgroup.threads'))}`);
    }
    return out;
  }
  private readonly described = new Set<string>();
  private readonly describedProcs = new Set<number>();

  /** Create kvcpu/<guestDir>/<leaf> with `cpus` and move TID (of process PID, now in `from`) into it. */
  place(guestDir: string, leaf: string, pid: number, tid: number, from: string, cpus: string): void {
    this.ensureDir('kvcpu');
    const guestRel = `kvcpu/${guestDir}`;
    this.ensureDir(guestRel);
    const rel = `${guestRel}/${leaf}`;
    this.ensureDir(rel, true);
    write(join(this.sysRoot, rel, 'cpuset.cpus'), cpus);
    if (this.mount.version === 1) {
      write(join(this.sysRoot, rel, 'tasks'), String(tid));
      this.moves.push({ pid, tid, from, to: rel, kind: 'thread' });
      return;
    }
    if (!this.moves.some((m) => m.kind === 'process' && m.pid === pid)) {
      write(join(this.sysRoot, guestRel, 'cgroup.procs'), String(pid));
      this.moves.push({ pid, tid: pid, from, to: guestRel, kind: 'process' });
    }
    write(join(this.sysRoot, rel, 'cgroup.threads'), String(tid));
    this.moves.push({ pid, tid, from: guestRel, to: rel, kind: 'thread' });
  }

  /** Move threads back where they were and remove what was created (best effort). */
  undo(): string[] {
    const errors = moveBack(this.sysRoot, this.mount, this.moves);
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

/** v1: each thread back via `tasks`; v2: each process back via `cgroup.procs` (threads follow). */
function moveBack(base: string, mount: CpusetMount, moves: CgroupMove[]): string[] {
  const errors: string[] = [];
  for (const m of [...moves].reverse()) {
    if (mount.version === 2 && m.kind !== 'process') continue;
    try {
      writeFileSync(join(base, m.from, mount.version === 1 ? 'tasks' : 'cgroup.procs'), String(m.tid));
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') errors.push(`tid ${m.tid}: ${(e as Error).message}`);
    }
  }
  return errors;
}

/** Move threads back to their recorded cgroups and remove kvcpu's dirs (unpin). */
export function restoreCgroupMoves(root: string, mount: CpusetMount, moves: CgroupMove[]): string[] {
  const base = join(root, mount.mountPoint);
  const errors = moveBack(base, mount, moves);
  const dirs = new Set<string>();
  for (const m of moves) if (m.kind === 'thread') dirs.add(m.to);
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

/** The leaf a pinned thread goes to under kvcpu/<guest>.<pid>/. */
export function cgroupLeafFor(r: { role: string; vcpu: number | null; iothread: string | null }): string {
  return r.role === 'vcpu' ? (r.vcpu === null ? 'vcpus' : `vcpu${r.vcpu}`) : r.role === 'iothread' ? `iothread-${r.iothread}` : 'emulator';
}

/**
 * Remove kvcpu/<guest>.<pid> cgroups whose process is gone (a destroyed domain, a killed
 * QEMU): leaves first, then the guest dir, then kvcpu/ when empty. Only dirs of dead pids are
 * touched, and rmdir(2) refuses cgroups that still hold tasks, so a live guest's are safe.
 * Returns what was removed (as messages) so callers can say so.
 */
export function removeStaleCgroups(root: string, mount: CpusetMount, only?: { name?: string; pid?: number }): string[] {
  const base = join(root, mount.mountPoint, 'kvcpu');
  let dirs: string[];
  try {
    dirs = readdirSync(base, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const d of dirs) {
    const m = /^(.*)\.(\d+)$/.exec(d);
    if (!m) continue;
    const pid = Number(m[2]);
    if (only?.name !== undefined && m[1] !== only.name) continue;
    if (only?.pid !== undefined && pid !== only.pid) continue;
    if (existsSync(join(root, 'proc', String(pid)))) continue;
    try {
      for (const leaf of readdirSync(join(base, d), { withFileTypes: true })) if (leaf.isDirectory()) rmdirSync(join(base, d, leaf.name));
      rmdirSync(join(base, d));
      out.push(`removed cgroup ${join(mount.mountPoint, 'kvcpu', d)} left by guest ${m[1]} (pid ${pid}, gone)`);
    } catch (e) {
      out.push(`could not remove cgroup ${join(mount.mountPoint, 'kvcpu', d)} of gone guest ${m[1]}: ${(e as Error).message}`);
    }
  }
  try {
    if (readdirSync(base, { withFileTypes: true }).every((e) => !e.isDirectory()) && out.length) rmdirSync(base);
  } catch {
    // another guest's cgroups still live there
  }
  return out;
}
