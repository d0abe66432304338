import { existsSync, readFileSync } from 'node:fs';
import { QmpClient } from '../qmp/qmp-client.ts';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startTimeOf(pid: number): number | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

function stateOf(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Wait until /proc/PID is gone (a daemonized QEMU is reaped by PID 1, sometimes ~1 s later). */
export async function waitGone(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await sleep(20);
  }
  return !existsSync(`/proc/${pid}`);
}

/**
 * Stop a guest: QMP `quit` when a socket is given and answers, else SIGTERM; SIGKILL after
 * `graceMs`. `startTime` (stat field 22) guards against signalling a reused PID. Resolves
 * true once /proc/PID is gone.
 */
export async function stopGuest(
  pid: number,
  opts: { qmpSocket?: string | null; startTime?: number | null; graceMs?: number; waitMs?: number } = {},
): Promise<boolean> {
  const st = startTimeOf(pid);
  if (st === null) return true;
  if (opts.startTime != null && st !== opts.startTime) return true; // PID reused: ours is gone
  let asked = false;
  if (opts.qmpSocket && existsSync(opts.qmpSocket)) {
    try {
      const q = await QmpClient.connect(opts.qmpSocket, { timeoutMs: 500 });
      await q.execute('quit', undefined, { timeoutMs: 1000 }).catch(() => undefined);
      q.close();
      asked = true;
    } catch {
      // busy or dead monitor: signal instead
    }
  }
  if (!asked) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return waitGone(pid, opts.waitMs);
    }
  }
  const graceEnd = Date.now() + (opts.graceMs ?? 2000);
  while (Date.now() < graceEnd) {
    const s = startTimeOf(pid);
    if (s === null || s !== st) return true;
    // A zombie has exited; PID 1 reaps it later.
    if (stateOf(pid) === 'Z') break;
    await sleep(20);
  }
  try {
    if (startTimeOf(pid) === st) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return waitGone(pid, opts.waitMs);
}
