import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import { loadNative } from '../io/native.ts';
import { readAllowedList } from './scan-proc.ts';

const execFileP = promisify(execFile);

/**
 * How kvcpu changes and reads thread affinity. The real edge uses sched_setaffinity(2)
 * through the native addon (about 2 µs per thread) or, without the addon, util-linux
 * `taskset -p -c LIST TID` run with execFile (no shell; ~5 ms per thread). Tests wrap it to
 * inject failures.
 */
export interface AffinityEdge {
  /** Set one thread's affinity; rejects with an error whose `code` is ESRCH/EINVAL/EPERM. */
  set(tid: number, cpus: number[]): Promise<void>;
  /** Current affinity of a thread (null when the thread is gone). */
  get(pid: number, tid: number): Promise<number[] | null>;
  /** Which mechanism `set` uses: 'sched_setaffinity' or 'taskset'. */
  readonly method: string;
}

function errnoError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export function realAffinityEdge(root = '/', opts: { useNative?: boolean } = {}): AffinityEdge {
  const native = opts.useNative === false ? null : loadNative();
  return {
    method: native ? 'sched_setaffinity' : 'taskset',
    async set(tid, cpus) {
      if (native) {
        native.affinitySet(tid, cpus); // throws Error with code ESRCH/EINVAL/EPERM
        return;
      }
      try {
        await execFileP('taskset', ['-p', '-c', formatCpulist(cpus), String(tid)], { timeout: 10_000 });
      } catch (e) {
        const err = e as { code?: unknown; stderr?: string };
        if (err.code === 'ENOENT') {
          throw new KvcpuError('E_TASKSET_MISSING', 'taskset is not installed and the native addon is not built', {
            hint: 'install util-linux (taskset) or build the addon with `npm ci`',
          });
        }
        const stderr = String(err.stderr ?? '');
        // util-linux taskset prints strerror(): map it back to an errno code.
        const code = /No such process/.test(stderr) ? 'ESRCH' : /Invalid argument/.test(stderr) ? 'EINVAL' : /not permitted/.test(stderr) ? 'EPERM' : 'EIO';
        throw errnoError(code, `taskset -p -c ${formatCpulist(cpus)} ${tid}: ${stderr.trim()}`);
      }
    },
    async get(pid, tid) {
      // Cpus_allowed_list is what the kernel enforces and what users check: read it, not a
      // cached value.
      const l = readAllowedList(root, pid, tid);
      return l === null ? null : parseCpulist(l);
    },
  };
}

/** The command a user would type for the same change (for --dry-run). */
export function tasksetCommand(tid: number, cpus: number[]): string {
  return `taskset -p -c ${formatCpulist(cpus)} ${tid}`;
}
