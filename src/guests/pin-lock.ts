import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KvcpuError } from '../core/errors.ts';

/**
 * One guest's pin lock: `pin-PID-START.lock` in the state directory, created O_EXCL and holding
 * the owner's pid and start time. `pin` holds it from reading the threads' current affinity to
 * saving the state file, `unpin` from loading the state to removing it, so two kvcpu processes
 * on one guest run one after the other and the saved `before` is never torn or lost (without
 * it, a second pin could record the first pin's CPUs as "before" and unpin would restore them).
 * A lock whose owner process is gone (killed kvcpu) is stale and taken over.
 */
export interface PinLock {
  paths: string[];
  release(): void;
}

function lockPath(dir: string, pid: number, startTime: number): string {
  return join(dir, `pin-${pid}-${startTime}.lock`);
}

/** stat field 22 of a process, null when it does not exist. */
function startTimeOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when the lock file names a process that still runs (same pid and start time). */
function ownerAlive(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false; // vanished: free
  }
  const m = /^(\d+) (\d+)\n?$/.exec(text);
  // Created but not yet written (the owner is between open and write): held, unless it stayed
  // empty for seconds (the owner died right after open).
  if (!m) {
    try {
      return text === '' && Date.now() - statSync(path).mtimeMs < 5000;
    } catch {
      return false;
    }
  }
  return startTimeOf(Number(m[1])) === m[2];
}

/** A state-directory failure as one coded error (nothing has been changed yet when it is thrown). */
export function stateDirError(dir: string, e: unknown, doing: string): KvcpuError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const why =
    code === 'ENOSPC'
      ? 'the file system is full'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : (e as Error).message;
  return new KvcpuError('E_PIN_STATE_DIR', `cannot ${doing} in the pin state directory ${dir}: ${why} (${code})`, {
    hint: "kvcpu keeps each thread's previous affinity there for `unpin`: free space, fix permissions, or set KVCPU_STATE_DIR",
    details: { dir, errno: code },
    cause: e,
  });
}

/**
 * Take the pin lock of every guest (sorted by pid, so two multi-guest plans cannot deadlock),
 * waiting up to `timeoutMs` for another kvcpu to finish; E_PIN_LOCKED after that,
 * E_PIN_STATE_DIR when the directory cannot be written (checked here, before any change).
 */
export async function acquirePinLocks(dir: string, guests: { pid: number; startTime: number }[], timeoutMs = 15_000): Promise<PinLock> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw stateDirError(dir, e, 'create the directory');
  }
  const me = `${process.pid} ${startTimeOf(process.pid) ?? 0}\n`;
  const held: string[] = [];
  const release = () => {
    for (const p of held.splice(0)) rmSync(p, { force: true });
  };
  const end = Date.now() + timeoutMs;
  try {
    for (const g of [...guests].sort((a, b) => a.pid - b.pid)) {
      const path = lockPath(dir, g.pid, g.startTime);
      for (;;) {
        let fd: number | null = null;
        try {
          fd = openSync(path, 'wx', 0o600);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw stateDirError(dir, e, 'create a lock file');
        }
        if (fd !== null) {
          try {
            writeSync(fd, me);
          } catch (e) {
            closeSync(fd);
            rmSync(path, { force: true });
            throw stateDirError(dir, e, 'write a lock file');
          }
          closeSync(fd);
          held.push(path);
          break;
        }
        if (!ownerAlive(path)) {
          // Stale: its kvcpu died. Remove and race for it again (O_EXCL picks one winner).
          rmSync(path, { force: true });
          continue;
        }
        if (Date.now() > end) {
          throw new KvcpuError('E_PIN_LOCKED', `another kvcpu is pinning or unpinning guest pid ${g.pid} (lock ${path}), still after ${timeoutMs} ms`, {
            hint: 'wait for it to finish; a lock of a kvcpu that died is taken over automatically',
            details: { lock: path },
          });
        }
        await sleep(25);
      }
    }
  } catch (e) {
    release();
    throw e;
  }
  return { paths: [...held], release };
}
