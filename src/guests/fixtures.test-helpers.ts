import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestProcess, GuestSnapshot, GuestThread } from './types.ts';
import { parseQemuCmdline } from './parse-qemu-cmdline.ts';

/** Build a thread row for pure tests. */
export function thread(p: Partial<GuestThread> & { tid: number; comm: string; role: GuestThread['role'] }): GuestThread {
  return {
    vcpu: null,
    state: 'S',
    psr: 0,
    psrStale: false,
    affinity: '0-3',
    cpuTicks: 0,
    voluntarySwitches: 0,
    involuntarySwitches: 0,
    migrations: 0,
    runNs: 0,
    waitNs: 0,
    core: null,
    siblings: null,
    node: null,
    ...p,
  };
}

/** A guest with n named vCPU threads (tids pid+10+i). */
export function guest(
  pid: number,
  name: string,
  n: number,
  opts: { affinity?: (i: number) => string; state?: string; psr?: (i: number) => number } = {},
): GuestProcess {
  const threads = [
    thread({ tid: pid, comm: 'qemu-system-x86', role: 'emulator', detail: 'main' }),
    thread({ tid: pid + 1, comm: 'call_rcu', role: 'emulator' }),
    ...Array.from({ length: n }, (_, i) =>
      thread({
        tid: pid + 10 + i,
        comm: `CPU ${i}/KVM`,
        role: 'vcpu',
        vcpu: i,
        affinity: opts.affinity?.(i) ?? '0-3',
        state: opts.state ?? 'S',
        psr: opts.psr?.(i) ?? 0,
      }),
    ),
  ];
  return {
    pid,
    name,
    startTime: 1000 + pid,
    binary: 'qemu-system-x86_64',
    config: parseQemuCmdline(['qemu-system-x86_64', '-name', `guest=${name},debug-threads=on`, '-smp', String(n)]),
    vcpuSource: 'thread-names',
    libvirt: false,
    vcpuCount: n,
    vcpuCountFrom: 'threads',
    threads,
  };
}

export function snapshot(guests: GuestProcess[], takenAtMs = 0): GuestSnapshot {
  return { takenAtMs, ticksPerSecond: 100, guests };
}

/** A /proc/PID/task/TID/stat line with the fields kvcpu reads (utime, start time, psr 1). */
export function procStat(tid: number, comm: string, startTime: number, utime: number): string {
  // fields 3.. after "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) ... starttime(22) ... processor(39)
  const f = ['S', '1', '1', '1', '0', '-1', '0', '0', '0', '0', '0', String(utime), '0', '0', '0', '20', '0', '1', '0', String(startTime)];
  while (f.length < 36) f.push('0');
  f.push('1'); // field 39: psr
  return `${tid} (${comm}) ${f.join(' ')} 0 0 0\n`;
}

/** A QEMU guest in a captured /proc tree under `root` (main thread + `threads`: [tid, comm, start time]); replaces what was there. */
export function writeProcGuest(root: string, pid: number, name: string, startTime: number, threads: [number, string, number][], smp = 2, utime = 7): void {
  rmSync(join(root, 'proc', String(pid)), { recursive: true, force: true });
  mkdirSync(join(root, 'proc', String(pid), 'task'), { recursive: true });
  writeFileSync(
    join(root, 'proc', String(pid), 'cmdline'),
    ['qemu-system-x86_64', '-name', `guest=${name},debug-threads=on`, '-smp', String(smp), ''].join('\0'),
  );
  for (const [tid, comm, start] of [[pid, 'qemu-system-x86', startTime] as [number, string, number], ...threads]) {
    const d = join(root, 'proc', String(pid), 'task', String(tid));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'stat'), procStat(tid, comm, start, utime));
    writeFileSync(join(d, 'status'), 'Name:\tx\nCpus_allowed_list:\t0-3\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t1\n');
    writeFileSync(join(d, 'schedstat'), '1000 2000 3\n');
    writeFileSync(
      join(d, 'sched'),
      `${comm} (${tid}, #threads: 1)\n---\nse.nr_migrations : 4\nnr_switches : 6\nnr_voluntary_switches : 5\nnr_involuntary_switches : 1\n`,
    );
  }
}
