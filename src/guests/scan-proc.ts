import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { isQemuBinary } from './parse-qemu-cmdline.ts';
import { parseProcStat, parseProcStatus, parseSchedMigrations, parseSchedstat, type ProcStat, type ProcStatus } from './parse-proc-files.ts';

/** Errors that mean "the process or thread went away while we looked": skip it, do not fail. */
export function isVanished(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

function readText(path: string): string {
  return readFileSync(path, 'latin1');
}

// One shared buffer: /proc files are generated on read, and open+read+close (3 syscalls) is
// about half of what readFileSync does (it also fstat()s and reads until EOF).
const BUF = Buffer.allocUnsafe(8192);

/** Read a small /proc file (up to 8 KiB; stat, status, schedstat, the start of cmdline). */
function readSmall(path: string, max = BUF.length): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, BUF, 0, max, null);
    return BUF.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

export interface QemuProcessEntry {
  pid: number;
  argv: string[];
}

/**
 * Find QEMU processes by reading /proc/PID/cmdline of every process (argv[0] basename
 * `qemu-system-*` or `qemu-kvm`), falling back to the exe link when argv[0] was rewritten.
 * No `ps`: one readdir plus one small read per process.
 */
export function listQemuProcesses(root = '/'): QemuProcessEntry[] {
  const proc = join(root, 'proc');
  const out: QemuProcessEntry[] = [];
  let ents: string[];
  try {
    ents = readdirSync(proc);
  } catch (e) {
    throw new KvcpuError('E_PROCFS_MISSING', `cannot list ${proc}: ${(e as Error).message}`, {
      hint: 'guests are read from /proc: use the live host, or a tree captured with its proc/ folder',
      cause: e,
    });
  }
  for (const ent of ents) {
    const c = ent.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let cmdline: string;
    try {
      // The first 512 bytes hold argv[0]; read the whole command line only for QEMU.
      cmdline = readSmall(join(proc, ent, 'cmdline'), 512);
      if (cmdline.length === 512 && /qemu/.test(cmdline)) cmdline = readText(join(proc, ent, 'cmdline'));
    } catch (e) {
      if (isVanished(e) || (e as { code?: string }).code === 'EACCES') continue;
      throw e;
    }
    if (cmdline === '') continue; // kernel thread or zombie
    const argv = cmdline.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    let isQemu = isQemuBinary(argv[0] ?? '');
    if (!isQemu && /qemu/.test(cmdline.slice(0, 200))) {
      try {
        isQemu = isQemuBinary(readlinkSync(join(proc, ent, 'exe')).replace(/ \(deleted\)$/, ''));
      } catch {
        // exe is unreadable for other users' processes without CAP_SYS_PTRACE: argv[0] decides.
      }
    }
    if (isQemu) out.push({ pid: Number(ent), argv });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export interface RawThread {
  tid: number;
  stat: ProcStat;
  status: ProcStatus;
  migrations: number | null;
  sched: { runNs: number; waitNs: number } | null;
}

/**
 * Read every thread of PID. Threads that exit mid-scan are skipped; returns null when the
 * process itself is gone. `full` adds schedstat and sched (migrations).
 */
export function readProcThreads(root: string, pid: number, full: boolean, getAffinity?: ((tid: number) => number[]) | null): RawThread[] | null {
  const taskDir = join(root, 'proc', String(pid), 'task');
  let tids: string[];
  try {
    tids = readdirSync(taskDir);
  } catch (e) {
    if (isVanished(e)) return null;
    throw e;
  }
  const out: RawThread[] = [];
  for (const t of tids) {
    const dir = join(taskDir, t);
    try {
      const stat = parseProcStat(readSmall(join(dir, 'stat')));
      if (!stat) continue;
      // Affinity: one sched_getaffinity(2) call when the native addon is there (the kernel
      // builds the whole ~1.5 KiB status text otherwise); switch counts need status, so the
      // full scan reads it anyway.
      let status: ProcStatus;
      if (getAffinity && !full) {
        status = { cpusAllowedList: formatCpulist(getAffinity(Number(t))), voluntarySwitches: null, involuntarySwitches: null };
      } else status = parseProcStatus(readSmall(join(dir, 'status')));
      let migrations: number | null = null;
      let sched: RawThread['sched'] = null;
      if (full) {
        try {
          sched = parseSchedstat(readSmall(join(dir, 'schedstat')));
        } catch (e) {
          if (!isVanished(e)) throw e;
        }
        try {
          migrations = parseSchedMigrations(readSmall(join(dir, 'sched')));
        } catch (e) {
          if (!isVanished(e) && (e as { code?: string }).code !== 'EACCES') throw e;
        }
      }
      out.push({ tid: Number(t), stat, status, migrations, sched });
    } catch (e) {
      if (isVanished(e)) continue;
      throw e;
    }
  }
  return orderVcpuThreads(out.sort((a, b) => a.tid - b.tid));
}

/**
 * Threads in tid order, except that `CPU n/...` threads are in vCPU order among themselves: a
 * hot-plugged vCPU gets a new, higher tid whatever its index (plug 3 then 1, and tid order
 * says 0, 3, 1; a string sort would say 0, 1, 10, 2). The vCPU threads keep the slots they had.
 */
export function orderVcpuThreads<T extends { stat: { comm: string } }>(threads: T[]): T[] {
  const idx = (t: T) => {
    const m = /^CPU (\d+)\//.exec(t.stat.comm);
    return m ? Number(m[1]) : null;
  };
  const slots = threads.map((t, i) => (idx(t) === null ? -1 : i)).filter((i) => i >= 0);
  const vcpus = slots.map((i) => threads[i]!).sort((a, b) => idx(a)! - idx(b)!);
  const out = [...threads];
  slots.forEach((slot, k) => (out[slot] = vcpus[k]!));
  return out;
}

/** stat of one process (for start time), null when gone. */
export function readProcStat(root: string, pid: number, tid = pid): ProcStat | null {
  try {
    return parseProcStat(readText(join(root, 'proc', String(pid), 'task', String(tid), 'stat')));
  } catch (e) {
    if (isVanished(e)) return null;
    throw e;
  }
}

/** A thread's Cpus_allowed_list, or null when the thread is gone. */
export function readAllowedList(root: string, pid: number, tid: number): string | null {
  try {
    return parseProcStatus(readText(join(root, 'proc', String(pid), 'task', String(tid), 'status'))).cpusAllowedList;
  } catch (e) {
    if (isVanished(e)) return null;
    throw e;
  }
}
