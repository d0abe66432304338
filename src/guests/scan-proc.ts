import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { readSmallFile } from '../io/proc-files.ts';
import { isQemuBinary } from './parse-qemu-cmdline.ts';
import { parseProcStat, parseProcStatus, parseSchedCounters, parseSchedstat, type ProcStat, type ProcStatus } from './parse-proc-files.ts';

/** How a scan reads one small /proc file (a ProcFiles cache in the agent, open+read+close otherwise). */
export type ReadSmall = (path: string, max?: number) => string;

/** Errors that mean "the process or thread went away while we looked": skip it, do not fail. */
export function isVanished(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR';
}

function readText(path: string): string {
  return readFileSync(path, 'latin1');
}

// /proc files are generated on read, and open+read+close (3 syscalls) is about half of what
// readFileSync does (it also fstat()s and reads until EOF).
const readSmall: ReadSmall = readSmallFile;

export interface QemuProcessEntry {
  pid: number;
  argv: string[];
}

/** Is /proc/PID (whose command line is `cmdline`, NUL-separated) a QEMU system emulator? Null argv when not. */
export function qemuArgv(root: string, pid: number, cmdline: string): string[] | null {
  if (cmdline === '') return null; // kernel thread or zombie
  const argv = cmdline.split('\0');
  if (argv[argv.length - 1] === '') argv.pop();
  let isQemu = isQemuBinary(argv[0] ?? '');
  if (!isQemu && /qemu/.test(cmdline.slice(0, 200))) {
    try {
      isQemu = isQemuBinary(readlinkSync(join(root, 'proc', String(pid), 'exe')).replace(/ \(deleted\)$/, ''));
    } catch {
      // exe is unreadable for other users' processes without CAP_SYS_PTRACE: argv[0] decides.
    }
  }
  return isQemu ? argv : null;
}

/** The whole command line of PID ('' for a kernel thread), null when the process is gone. */
export function readCmdline(root: string, pid: number): string | null {
  try {
    return readText(join(root, 'proc', String(pid), 'cmdline'));
  } catch (e) {
    if (isVanished(e) || (e as { code?: string }).code === 'EACCES') return null;
    throw e;
  }
}

/**
 * Find QEMU processes by reading /proc/PID/cmdline of every process (argv[0] basename
 * `qemu-system-*` or `qemu-kvm`), falling back to the exe link when argv[0] was rewritten.
 * No `ps`: one readdir plus one small read per process.
 */
export function listQemuProcesses(root = '/', opts: { read?: ReadSmall; known?: Map<number, { argv: string[] }> } = {}): QemuProcessEntry[] {
  const read = opts.read ?? readSmall;
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
    const pid = Number(ent);
    // A QEMU the caller already knows (its command line parsed): the caller checks that the
    // process is still the same one (pid + start time + comm of its main thread).
    const known = opts.known?.get(pid);
    if (known) {
      out.push({ pid, argv: known.argv });
      continue;
    }
    let cmdline: string;
    try {
      // The first 512 bytes hold argv[0]; read the whole command line only for QEMU.
      cmdline = read(join(proc, ent, 'cmdline'), 512);
      if (cmdline.length === 512 && /qemu/.test(cmdline)) cmdline = readText(join(proc, ent, 'cmdline'));
    } catch (e) {
      if (isVanished(e) || (e as { code?: string }).code === 'EACCES') continue;
      throw e;
    }
    const argv = qemuArgv(root, pid, cmdline);
    if (argv) out.push({ pid, argv });
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
export function readProcThreads(
  root: string,
  pid: number,
  full: boolean,
  getAffinity?: ((tid: number) => number[]) | null,
  read: ReadSmall = readSmall,
): RawThread[] | null {
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
    // Plain concatenation: taskDir is normalised already, and path.join per file was a visible
    // share of the agent's sample (four files per thread, every second).
    const dir = `${taskDir}/${t}`;
    try {
      const stat = parseProcStat(read(`${dir}/stat`));
      if (!stat) continue;
      let status: ProcStatus | null = null;
      let migrations: number | null = null;
      let sched: RawThread['sched'] = null;
      if (full) {
        try {
          sched = parseSchedstat(read(`${dir}/schedstat`));
        } catch (e) {
          if (!isVanished(e)) throw e;
        }
        try {
          const counters = parseSchedCounters(read(`${dir}/sched`));
          migrations = counters.migrations;
          // sched carries the same switch counters as status (p->nvcsw, p->nivcsw:
          // kernel/sched/debug.c proc_sched_show_task), so with the affinity from
          // sched_getaffinity(2) the ~1.5 KiB status text is not needed at all.
          if (getAffinity && counters.voluntarySwitches !== null && counters.involuntarySwitches !== null) {
            status = {
              cpusAllowedList: formatCpulist(getAffinity(Number(t))),
              voluntarySwitches: counters.voluntarySwitches,
              involuntarySwitches: counters.involuntarySwitches,
            };
          }
        } catch (e) {
          if (!isVanished(e) && (e as { code?: string }).code !== 'EACCES') throw e;
        }
      } else if (getAffinity) {
        // Affinity: one sched_getaffinity(2) call when the native addon is there (the kernel
        // builds the whole status text otherwise); switch counts are not asked for.
        status = { cpusAllowedList: formatCpulist(getAffinity(Number(t))), voluntarySwitches: null, involuntarySwitches: null };
      }
      status ??= parseProcStatus(read(`${dir}/status`));
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
