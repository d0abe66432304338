import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSnapshot } from '../host/types.ts';
import { loadNative } from '../io/native.ts';
import { classifyThread, type ThreadClass } from './classify-thread.ts';
import { parseQemuCmdline } from './parse-qemu-cmdline.ts';
import { queryVcpuTids } from './qmp-vcpu-tids.ts';
import { readLibvirtVcpuTids } from './read-libvirt-status.ts';
import type { GuestScanCache, KnownGuest } from './guest-scan-cache.ts';
import { listQemuProcesses, qemuArgv, readCmdline, readProcThreads, type RawThread } from './scan-proc.ts';
import type { GuestProcess, GuestSnapshot, GuestThread, VcpuSource } from './types.ts';

/** USER_HZ: the unit of utime/stime in /proc (fixed at 100 on Linux, see proc(5)). */
export const TICKS_PER_SECOND = 100;

export interface SnapshotOptions {
  /** Root prefix for /proc (default "/"). */
  root?: string;
  /** Host CPUs, for core/siblings/node of each psr (null: leave them null). */
  host?: HostSnapshot | null;
  /** Ask QMP for vCPU TIDs when thread names do not tell (live hosts only). Default true. */
  qmp?: boolean;
  /** Also read schedstat and sched (run-queue wait, migrations). Default true. */
  full?: boolean;
  /** Only these PIDs (used by pin to re-read one guest). */
  pids?: number[];
  /** Kept between scans by a long-running caller (the agent's sampler): see GuestScanCache. */
  cache?: GuestScanCache;
}

interface HostPlace {
  core: number | null;
  siblings: string | null;
  node: number | null;
}

function placeMap(host: HostSnapshot | null | undefined): Map<number, HostPlace> {
  const m = new Map<number, HostPlace>();
  for (const r of host?.perCpu ?? []) m.set(r.cpu, { core: r.core, siblings: r.siblings, node: r.node });
  return m;
}

/** cpu in a kernel cpulist, without building the whole set. */
function inCpulist(cpu: number, list: string): boolean {
  for (const part of list.split(',')) {
    const dash = part.indexOf('-');
    if (dash < 0 ? Number(part) === cpu : cpu >= Number(part.slice(0, dash)) && cpu <= Number(part.slice(dash + 1))) return true;
  }
  return false;
}

function hasNamedVcpus(threads: RawThread[]): boolean {
  return threads.some((t) => /^CPU \d+\/\w+$/.test(t.stat.comm) || t.stat.comm === 'ALL CPUs/TCG');
}

function isLibvirtGuest(root: string, name: string | null, pid: number, libvirtRun: boolean): boolean {
  if (!name || !libvirtRun) return false;
  try {
    return Number(readFileSync(join(root, 'run/libvirt/qemu', `${name}.pid`), 'utf8').trim()) === pid;
  } catch {
    return false;
  }
}

/**
 * One snapshot of every QEMU guest on the host: processes from /proc, their command lines,
 * every thread classified, with placement facts. Tolerates processes and threads that vanish
 * while it runs (they are left out).
 */
export async function snapshotGuests(opts: SnapshotOptions = {}): Promise<GuestSnapshot> {
  const cache = opts.cache && !opts.pids ? opts.cache : null;
  if (!cache) return snapshotWith(opts, null, 0);
  const scanNo = cache.begin();
  try {
    return await snapshotWith(opts, cache, scanNo);
  } finally {
    cache.end();
  }
}

async function snapshotWith(opts: SnapshotOptions, cache: GuestScanCache | null, scanNo: number): Promise<GuestSnapshot> {
  const root = opts.root ?? '/';
  const full = opts.full ?? true;
  const places = placeMap(opts.host);
  const guests: GuestProcess[] = [];
  const threadStarts = new Map<number, number>();
  const files = cache?.files ?? null;
  const read = files ? (path: string, max?: number) => files.read(path, max) : undefined;
  let procs = listQemuProcesses(root, { ...(read ? { read } : {}), ...(cache ? { known: cache.guests } : {}) });
  if (opts.pids) procs = procs.filter((p) => opts.pids!.includes(p.pid));
  // Live host: affinity by sched_getaffinity(2) (native addon) instead of parsing status.
  const native = root === '/' ? loadNative() : null;
  const getAffinity = native ? (tid: number) => native.affinityGet(tid) : null;
  // Checked once: a failed open per guest costs more than the whole thread scan (Node builds
  // an Error with a stack trace for every ENOENT).
  const libvirtRun = existsSync(join(root, 'run/libvirt/qemu'));
  // Pass 1: read /proc for every QEMU process (cheap, synchronous).
  const scanned: {
    pid: number;
    argv: string[];
    raw: RawThread[];
    main: RawThread | undefined;
    config: ReturnType<typeof parseQemuCmdline>;
    libvirt: boolean;
    vcpuSource: VcpuSource;
    vcpuTids: Map<number, number>;
    known: KnownGuest | undefined;
  }[] = [];
  for (const entry of procs) {
    const pid = entry.pid;
    let argv = entry.argv;
    const raw = readProcThreads(root, pid, full, getAffinity, read);
    if (!raw || raw.length === 0) continue;
    const main = raw.find((t) => t.tid === pid);
    if (main && main.stat.state === 'Z') continue; // exited, waiting to be reaped
    let known: KnownGuest | undefined = cache?.guests.get(pid);
    if (known && (!main || main.stat.startTime !== known.startTime || main.stat.comm !== known.comm)) {
      // The pid now names another process (or the QEMU exec()ed): nothing cached is its.
      cache!.guests.delete(pid);
      known = undefined;
      const cmdline = readCmdline(root, pid);
      const fresh = cmdline === null ? null : qemuArgv(root, pid, cmdline);
      if (!fresh) continue;
      argv = fresh;
    }
    const config = known?.config ?? parseQemuCmdline(argv);
    const libvirt = known?.libvirt || isLibvirtGuest(root, config.name, pid, libvirtRun);
    if (cache && main) {
      if (!known) {
        known = { startTime: main.stat.startTime, comm: main.stat.comm, argv, config, libvirt, threads: new Map(), seen: 0 };
        cache.guests.set(pid, known);
      }
      known.libvirt = libvirt;
      known.seen = scanNo;
    }
    let vcpuSource: VcpuSource = 'none';
    let vcpuTids = new Map<number, number>();
    if (hasNamedVcpus(raw)) vcpuSource = 'thread-names';
    else if (libvirt && config.name) {
      vcpuTids = readLibvirtVcpuTids(root, config.name);
      if (vcpuTids.size > 0) vcpuSource = 'libvirt';
    }
    scanned.push({ pid, argv, raw, main, config, libvirt, vcpuSource, vcpuTids, known });
  }
  // Pass 2: QMP for guests whose threads are unnamed, all at once, so busy monitors cost one
  // short timeout per scan rather than one per guest.
  if ((opts.qmp ?? true) && root === '/') {
    await Promise.all(
      scanned
        .filter((s) => s.vcpuSource === 'none' && s.config.qmpSockets.length > 0)
        .map(async (s) => {
          for (const sock of s.config.qmpSockets) {
            const m = await queryVcpuTids(sock);
            if (m && m.size > 0) {
              s.vcpuTids = m;
              s.vcpuSource = 'qmp';
              return;
            }
          }
        }),
    );
  }
  for (const { pid, argv, raw, main, config, libvirt, vcpuSource, vcpuTids, known } of scanned) {
    // Roles from thread names depend on the name alone; QMP/libvirt maps are asked each scan.
    const roles = known && vcpuSource === 'thread-names' ? known.threads : null;
    const seenTids = roles ? new Set<number>() : null;
    const threads: GuestThread[] = raw.map((t) => {
      let c: ThreadClass;
      const r = roles?.get(t.tid);
      if (r && r.startTime === t.stat.startTime && r.comm === t.stat.comm) c = r.cls;
      else {
        c = classifyThread(t.tid, t.stat.comm, { pid, vcpuTids, vcpuSource });
        roles?.set(t.tid, { startTime: t.stat.startTime, comm: t.stat.comm, cls: c });
      }
      seenTids?.add(t.tid);
      threadStarts.set(t.tid, t.stat.startTime);
      const place = t.stat.psr === null ? undefined : places.get(t.stat.psr);
      const th: GuestThread = {
        tid: t.tid,
        comm: t.stat.comm,
        role: c.role,
        vcpu: c.vcpu,
        ...(c.allVcpus ? { vcpus: Array.from({ length: config.smpCpus }, (_, i) => i) } : {}),
        ...(c.iothread ? { iothread: c.iothread } : {}),
        ...(c.detail ? { detail: c.detail } : {}),
        state: t.stat.state,
        psr: t.stat.psr,
        psrStale: t.stat.psr !== null && t.status.cpusAllowedList !== null && !inCpulist(t.stat.psr, t.status.cpusAllowedList),
        affinity: t.status.cpusAllowedList ?? '',
        cpuTicks: t.stat.utime + t.stat.stime,
        voluntarySwitches: t.status.voluntarySwitches,
        involuntarySwitches: t.status.involuntarySwitches,
        migrations: t.migrations,
        runNs: t.sched?.runNs ?? null,
        waitNs: t.sched?.waitNs ?? null,
        core: place?.core ?? null,
        siblings: place?.siblings ?? null,
        node: place?.node ?? null,
      };
      return th;
    });
    if (roles) for (const tid of roles.keys()) if (!seenTids!.has(tid)) roles.delete(tid);
    const vcpuThreads = threads.filter((t) => t.role === 'vcpu');
    // No vCPU thread identified (no debug-threads, no QMP, no libvirt status): the command line
    // still says how many vCPUs the guest started with; 0 would hide it from overcommit.
    const vcpuCountFrom = vcpuThreads.length === 0 && vcpuSource === 'none' ? 'cmdline' : 'threads';
    const vcpuCount = vcpuThreads.some((t) => t.vcpus) || vcpuCountFrom === 'cmdline' ? config.smpCpus : vcpuThreads.length;
    guests.push({
      pid,
      name: config.name ?? `pid-${pid}`,
      startTime: main?.stat.startTime ?? raw[0]!.stat.startTime,
      binary: argv[0] ?? '',
      config,
      vcpuSource,
      libvirt,
      vcpuCount,
      vcpuCountFrom,
      threads,
    });
  }
  return { takenAtMs: performance.now(), ticksPerSecond: TICKS_PER_SECOND, guests, threadStarts };
}
