import { closeSync, openSync, readSync } from 'node:fs';

/** One buffer for every small /proc read (stat, status, schedstat, sched, the start of cmdline). */
const BUF = Buffer.allocUnsafe(8192);

/** Read a small file (up to 8 KiB) with open+read+close, 3 syscalls (readFileSync also fstat()s and reads to EOF). */
export function readSmallFile(path: string, max = BUF.length): string {
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, BUF, 0, max, null);
    return BUF.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Small /proc files read again and again (a long-running sampler) through descriptors kept open
 * between passes: each read is one pread(2) at offset 0, and the kernel regenerates the text
 * (seq_file restarts at position 0). Opening is most of the cost of a /proc read (a path walk
 * through /proc/PID/task/TID), so this halves it.
 *
 * Safe against reused ids: an open /proc/PID/... descriptor holds the task's `struct pid`, not
 * the number; once that task is gone every read fails with ESRCH (fs/proc/base.c
 * get_proc_task), it never shows a new task that got the same number. On such a failure the
 * path is opened again once (it may name a new task now) and, if that fails too, the error goes
 * to the caller as if the file had been opened fresh (ENOENT/ESRCH: vanished).
 *
 * Only for the live /proc: a file in a captured tree that is replaced keeps its old inode
 * behind an open descriptor. `beginPass`/`endPass` bracket one sample; descriptors not used in
 * a pass are closed at its end (threads and processes that went away).
 */
export class ProcFiles {
  private readonly open = new Map<string, { fd: number; pass: number }>();
  private pass = 0;

  /** @param maxOpen descriptors kept open at most; reads beyond it open and close as usual. */
  constructor(private readonly maxOpen = 4096) {}

  beginPass(): void {
    this.pass++;
  }

  /** Text of the file (up to `max` bytes, at most 8 KiB); throws like openSync/readSync. */
  read(path: string, max = BUF.length): string {
    const cached = this.open.get(path);
    if (cached) {
      try {
        const n = readSync(cached.fd, BUF, 0, max, 0);
        cached.pass = this.pass;
        return BUF.toString('latin1', 0, n);
      } catch {
        // The task behind the descriptor is gone (ESRCH): the path may name a new one now.
        this.drop(path, cached.fd);
      }
    }
    if (this.open.size >= this.maxOpen) return readSmallFile(path, max);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || this.open.size === 0) throw e;
      // Out of descriptors (a low RLIMIT_NOFILE): give ours back and read the usual way.
      this.closeAll();
      return readSmallFile(path, max);
    }
    try {
      const n = readSync(fd, BUF, 0, max, 0);
      const text = BUF.toString('latin1', 0, n);
      this.open.set(path, { fd, pass: this.pass });
      return text;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Close the descriptors the pass did not use. */
  endPass(): void {
    for (const [path, e] of this.open) if (e.pass !== this.pass) this.drop(path, e.fd);
  }

  openCount(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const [path, e] of this.open) this.drop(path, e.fd);
  }

  private drop(path: string, fd: number): void {
    this.open.delete(path);
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to give back
    }
  }
}
