import type { GuestProcess, GuestSnapshot, GuestThread } from './types.ts';
import { parseQemuCmdline } from './parse-qemu-cmdline.ts';

/** Build a thread row for pure tests. */
export function thread(p: Partial<GuestThread> & { tid: number; comm: string; role: GuestThread['role'] }): GuestThread {
  return {
    vcpu: null, state: 'S', psr: 0, psrStale: false, affinity: '0-3', cpuTicks: 0, voluntarySwitches: 0, involuntarySwitches: 0,
    migrations: 0, runNs: 0, waitNs: 0, core: null, siblings: null, node: null, ...p,
  };
}

/** A guest with n named vCPU threads (tids pid+10+i). */
export function guest(pid: number, name: string, n: number, opts: { affinity?: (i: number) => string; state?: string; psr?: (i: number) => number } = {}): GuestProcess {
  const threads = [
    thread({ tid: pid, comm: 'qemu-system-x86', role: 'emulator', detail: 'main' }),
    thread({ tid: pid + 1, comm: 'call_rcu', role: 'emulator' }),
    ...Array.from({ length: n }, (_, i) =>
      thread({ tid: pid + 10 + i, comm: `CPU ${i}/KVM`, role: 'vcpu', vcpu: i, affinity: opts.affinity?.(i) ?? '0-3', state: opts.state ?? 'S', psr: opts.psr?.(i) ?? 0 }),
    ),
  ];
  return {
    pid, name, startTime: 1000 + pid, binary: 'qemu-system-x86_64',
    config: parseQemuCmdline(['qemu-system-x86_64', '-name', `guest=${name},debug-threads=on`, '-smp', String(n)]),
    vcpuSource: 'thread-names', libvirt: false, vcpuCount: n, vcpuCountFrom: 'threads', threads,
  };
}

export function snapshot(guests: GuestProcess[], takenAtMs = 0): GuestSnapshot {
  return { takenAtMs, ticksPerSecond: 100, guests };
}
