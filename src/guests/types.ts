/**
 * What kvcpu sees of running QEMU guests: one process per guest, one row per thread.
 * Plain data produced by snapshot-guests.ts and consumed by ps/top/pin/overcommit/report.
 */

/** vcpu: runs guest code; emulator: QEMU main loop and helpers (what libvirt's emulatorpin
 * moves); iothread: `-object iothread`; vhost: vhost-net/vsock kernel workers; other: kernel
 * KVM workers (`kvm-nx-lpage-re`) and threads kvcpu cannot tell apart. */
export type ThreadRole = 'vcpu' | 'emulator' | 'iothread' | 'vhost' | 'other';

export interface GuestThread {
  tid: number;
  /** /proc/PID/task/TID/comm (the stat name, up to 15 characters). */
  comm: string;
  role: ThreadRole;
  /** vCPU index (QEMU cpu-index) or null; null for `ALL CPUs/TCG` (see `vcpus`). */
  vcpu: number | null;
  /** vCPU indexes served by one thread (`ALL CPUs/TCG` under -accel tcg,thread=single). */
  vcpus?: number[];
  /** IOThread id for role iothread. */
  iothread?: string;
  /** Free-text note (e.g. 'kernel KVM worker', 'main'). */
  detail?: string;
  /** Scheduler state letter (R, S, D, Z...). */
  state: string;
  /** Last CPU the thread ran on (stat field 39). Stale for a halted vCPU until it runs again. */
  psr: number | null;
  /** psr is outside the current affinity: the thread has not run since it was re-pinned. */
  psrStale: boolean;
  /** Cpus_allowed_list (the thread's affinity), a kernel cpulist. */
  affinity: string;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
  voluntarySwitches: number | null;
  involuntarySwitches: number | null;
  /** se.nr_migrations from /proc/.../sched (null when the kernel has no sched debug file). */
  migrations: number | null;
  /** schedstat: ns on CPU and ns waiting on a run queue (host-side "steal" of this vCPU). */
  runNs: number | null;
  waitNs: number | null;
  /** Host placement of psr: machine-wide core index, SMT siblings, NUMA node. */
  core: number | null;
  siblings: string | null;
  node: number | null;
}

export type VcpuSource = 'thread-names' | 'qmp' | 'libvirt' | 'none';

export interface QemuConfig {
  /** -name guest=X (null when absent). */
  name: string | null;
  debugThreads: boolean;
  /** vCPUs at start (-smp cpus) and the hot-plug ceiling (maxcpus). */
  smpCpus: number;
  maxCpus: number;
  smp: string | null;
  /** -machine type as given (`pc-q35-7.2`, `q35`); null = QEMU's default (`pc`). */
  machine: string | null;
  cpuModel: string | null;
  /** kvm | tcg | hvf | ... (QEMU's default is tcg unless the binary name ends in "kvm"). */
  accel: string;
  /** TCG thread mode when given (-accel tcg,thread=single|multi). */
  tcgThread: string | null;
  memoryMiB: number | null;
  /** Unix socket paths of QMP monitors (-qmp unix:P, -chardev socket,path=P + -mon mode=control). */
  qmpSockets: string[];
  iothreads: string[];
  pidfile: string | null;
  daemonize: boolean;
}

export interface GuestProcess {
  pid: number;
  /** Guest name (-name guest=X), else `pid-N`. */
  name: string;
  /** Process start time (stat field 22, ticks since boot): with pid it identifies the process. */
  startTime: number;
  binary: string;
  config: QemuConfig;
  /** Where vCPU roles came from. */
  vcpuSource: VcpuSource;
  /** Started by libvirt (has /run/libvirt/qemu/NAME.pid with this pid). */
  libvirt: boolean;
  /** Running vCPUs: vCPU threads seen (or the -smp count under thread=single, or when the
   * threads cannot be told apart: see vcpuCountFrom). Never 0 for a guest that has vCPUs. */
  vcpuCount: number;
  /** threads: counted from identified vCPU threads (hot-plugged ones included); cmdline: from
   * -smp, because no thread names, QMP or libvirt status told which threads are vCPUs (vCPUs
   * hot-plugged since start are then not counted, and per-vCPU figures are unknown). */
  vcpuCountFrom: 'threads' | 'cmdline';
  threads: GuestThread[];
}

export interface GuestSnapshot {
  /** Monotonic time of the scan (ms), for rates in `top`. */
  takenAtMs: number;
  /** Clock ticks per second (USER_HZ, 100 on Linux). */
  ticksPerSecond: number;
  guests: GuestProcess[];
  /** Start time (stat field 22) of every thread read, by tid: with the tid it names one thread, for rates across scans (not part of ps --json). */
  threadStarts?: Map<number, number>;
}
