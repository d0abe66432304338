import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKvcpuError, KvcpuError, type ErrorCode } from '../core/errors.ts';
import { parseProcStat } from './parse-proc-files.ts';

/**
 * The scheduler state of a process from /proc/PID/stat under `root`, null when it is gone.
 * `T` is stopped by a signal (SIGSTOP, SIGTSTP), `t` stopped by a tracer (gdb): either way
 * no QEMU thread runs, so its monitor accepts connections (the kernel does) but never answers.
 */
export function readProcessState(pid: number, root = '/'): string | null {
  try {
    return parseProcStat(readFileSync(join(root, 'proc', String(pid), 'stat'), 'latin1'))?.state ?? null;
  } catch {
    return null;
  }
}

/**
 * Why a guest's QMP monitor did not answer, as one coded error: the QEMU process is stopped
 * (E_GUEST_STOPPED), the monitor accepted but sent no greeting, i.e. another client holds it
 * (E_QMP_BUSY: QMP serves one client per chardev), or `fallbackCode` with the cause's message.
 */
export function explainMonitorFailure(
  guest: { name: string; pid: number },
  socketPath: string,
  cause: unknown,
  fallbackCode: ErrorCode,
  root = '/',
): KvcpuError {
  const state = readProcessState(guest.pid, root);
  if (state === 'T' || state === 't') {
    return new KvcpuError(
      'E_GUEST_STOPPED',
      `guest ${guest.name} (pid ${guest.pid}) is stopped (state ${state} in /proc/${guest.pid}/stat${state === 't' ? ': a debugger holds it' : ': SIGSTOP'}): its QMP monitor cannot answer`,
      {
        hint: state === 't' ? 'detach the debugger first' : `resume it with \`kill -CONT ${guest.pid}\`, then retry`,
        details: { pid: guest.pid, state },
        cause,
      },
    );
  }
  if (isKvcpuError(cause) && cause.code === 'E_QMP_TIMEOUT') {
    return new KvcpuError(
      'E_QMP_BUSY',
      `guest ${guest.name}'s QMP socket ${socketPath} accepted the connection but sent no greeting: another client holds the monitor`,
      {
        hint: 'QMP serves one client per socket: close the other client (socat, a second kvcpu, libvirt) or give QEMU a second -qmp socket',
        details: { pid: guest.pid, socket: socketPath },
        cause,
      },
    );
  }
  return new KvcpuError(fallbackCode, `cannot talk to ${guest.name}'s QMP socket ${socketPath}: ${(cause as Error).message}`, {
    hint: 'check that QEMU runs with -qmp unix:PATH,server=on,wait=off',
    cause,
  });
}
