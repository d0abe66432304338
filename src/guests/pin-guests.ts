import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { PinPlan } from '../plan/pin-plan.ts';
import { realAffinityEdge, tasksetCommand, type AffinityEdge } from './affinity-edge.ts';
import { applyPins, type PinResult } from './apply-pins.ts';
import { buildPinRequests, validatePinRequests, type GuestPinSpec, type PinRequest } from './build-pin-requests.ts';
import { CpusetManager, detectCpusetMount, readThreadCpuset, restoreCgroupMoves } from './cgroup-cpuset.ts';
import { findGuest } from './find-guest.ts';
import { pinViaLibvirt, restoreLibvirtPins, virshCommands, type LibvirtPin } from './libvirt-pins.ts';
import { loadPinState, pinStateDir, removePinState, savePinState } from './pin-state.ts';
import { snapshotGuests } from './snapshot-guests.ts';
import type { GuestProcess } from './types.ts';

export interface PinJob {
  guest: string;
  spec: GuestPinSpec;
}

export interface PinOptions {
  root?: string;
  host: HostSnapshot;
  edge?: AffinityEdge;
  cgroup?: boolean;
  dryRun?: boolean;
  viaLibvirt?: boolean;
  /** virsh --config: also persist in the domain XML. */
  persist?: boolean;
  stateDir?: string;
}

export interface PinOutcome {
  dryRun: boolean;
  method: string;
  requests: PinRequest[];
  /** Equivalent shell commands (what --dry-run prints). */
  commands: string[];
  result: PinResult | null;
  statePaths: string[];
}

/** Plan file guests -> pin jobs. */
export function jobsFromPlan(plan: PinPlan): PinJob[] {
  return plan.guests.map((g) => ({
    guest: g.name,
    spec: {
      vcpus: new Map(Object.entries(g.vcpus).map(([k, v]) => [Number(k), parseCpulist(v)])),
      emulator: g.emulator ? parseCpulist(g.emulator) : null,
      iothreads: new Map(Object.entries(g.iothreads).map(([k, v]) => [k, parseCpulist(v)])),
    },
  }));
}

function callerAllowed(root: string): number[] {
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(join(root, 'proc/self/status'), 'utf8'));
  return m ? parseCpulist(m[1]!) : [];
}

/** Commands equivalent to the requests (taskset per thread, or virsh per vCPU/emulator). */
export function describeCommands(guests: Map<number, GuestProcess>, reqs: PinRequest[], viaLibvirt: boolean, persist: boolean): string[] {
  if (viaLibvirt) return virshCommands(guests, reqs, persist).map((args) => ['virsh', ...args].join(' '));
  return reqs.map((r) => `${tasksetCommand(r.tid, r.cpus)}   # ${r.guest} ${r.label} (${r.comm})`);
}

/**
 * Pin one or more guests all-or-nothing: one scan, one combined request list (so a plan
 * covering several guests rolls back every guest if any thread fails), validation before any
 * change, then apply + verify (apply-pins.ts), then save the previous affinity for unpin.
 */
export async function pinGuests(jobs: PinJob[], opts: PinOptions): Promise<PinOutcome> {
  const root = opts.root ?? '/';
  const snap = await snapshotGuests({ root, host: opts.host, full: false });
  const byPid = new Map<number, GuestProcess>();
  const reqs: PinRequest[] = [];
  for (const j of jobs) {
    const g = findGuest(snap, j.guest);
    if (byPid.has(g.pid)) throw new KvcpuError('E_BAD_INPUT', `guest ${g.name} appears twice in the request`, { hint: 'merge its entries' });
    byPid.set(g.pid, g);
    reqs.push(...buildPinRequests(g, j.spec));
  }
  if (reqs.length === 0) throw new KvcpuError('E_BAD_INPUT', 'nothing to pin', { hint: 'give --vcpu N=CPUS, --emulator CPUS or --iothread ID=CPUS' });
  const mount = detectCpusetMount(root);
  const problems = validatePinRequests(reqs, {
    online: parseCpulist(opts.host.cpus.online),
    callerAllowed: callerAllowed(root),
    threadCpuset: (pid, tid) => readThreadCpuset(root, mount, pid, tid),
  });
  if (problems.length) {
    throw new KvcpuError('E_PIN_INVALID', `refusing to pin (nothing was changed):\n  ${problems.join('\n  ')}`, {
      hint: 'choose CPUs that are online and inside the allowed set (see `kvcpu host`)',
      details: { problems },
    });
  }
  const viaLibvirt = opts.viaLibvirt ?? false;
  if (viaLibvirt) {
    const notLibvirt = [...byPid.values()].filter((g) => !g.libvirt);
    if (notLibvirt.length) {
      throw new KvcpuError('E_NOT_LIBVIRT', `not libvirt domains: ${notLibvirt.map((g) => g.name).join(', ')}`, { hint: 'drop --via-libvirt for plain QEMU guests' });
    }
  }
  const commands = describeCommands(byPid, reqs, viaLibvirt, opts.persist ?? false);
  if (opts.cgroup && !viaLibvirt) {
    commands.unshift(
      mount
        ? mount.version === 1
          ? `# cgroup v1 cpuset at ${mount.mountPoint}: per-thread leaves kvcpu/<guest>.<pid>/<vcpuN|emulator> (cpuset.cpus, cpuset.mems, then tasks)`
          : `# cgroup v2 at ${mount.mountPoint}: process into kvcpu/<guest>.<pid> (cgroup.procs), threaded leaves <vcpuN|emulator> (cpuset.cpus, then cgroup.threads)`
        : '# no cpuset controller mounted: --cgroup would fail',
    );
  }
  const edge = opts.edge ?? realAffinityEdge(root);
  if (opts.dryRun) return { dryRun: true, method: viaLibvirt ? 'virsh' : edge.method, requests: reqs, commands, result: null, statePaths: [] };

  if (viaLibvirt) {
    const { pins, ...result } = await pinViaLibvirt(byPid, reqs, opts.persist ?? false, edge);
    const statePaths = saveStates(byPid, result, { cgroup: null, libvirt: pins }, opts.stateDir);
    return { dryRun: false, method: 'virsh', requests: reqs, commands, result, statePaths };
  }
  let cg: CpusetManager | null = null;
  if (opts.cgroup) {
    if (!mount) throw new KvcpuError('E_CGROUP', 'no cpuset cgroup controller is mounted', { hint: 'pin without --cgroup' });
    cg = new CpusetManager(mount, root);
  }
  const result = await applyPins(reqs, { edge, root, cgroup: cg });
  const statePaths = saveStates(byPid, result, { cgroup: cg, libvirt: [] }, opts.stateDir);
  return { dryRun: false, method: result.method + (cg ? ` + cgroup v${cg.mount.version} cpuset` : ''), requests: reqs, commands, result, statePaths };
}

/** One state file per guest: each thread's affinity before and after, plus how to undo the rest. */
function saveStates(
  byPid: Map<number, GuestProcess>,
  result: PinResult,
  undo: { cgroup: CpusetManager | null; libvirt: LibvirtPin[] },
  stateDir: string | undefined,
): string[] {
  return [...byPid.values()].map((g) => {
    const libvirt = undo.libvirt.filter((p) => p.domain === g.name);
    return savePinState(
      {
        kind: 'kvcpu-pin-state',
        pid: g.pid,
        startTime: g.startTime,
        guest: g.name,
        savedAt: new Date().toISOString(),
        threads: result.applied.filter((a) => a.pid === g.pid).map((a) => ({ tid: a.tid, comm: a.comm, label: a.label, before: a.before, after: a.after })),
        cgroup: undo.cgroup ? { mount: undo.cgroup.mount, moves: undo.cgroup.moves.filter((m) => m.pid === g.pid) } : null,
        ...(libvirt.length ? { libvirt } : {}),
      },
      stateDir ?? pinStateDir(),
    );
  });
}

export interface UnpinOutcome {
  guest: string;
  pid: number;
  restored: { tid: number; label: string; comm: string; from: string; to: string; now: string | null }[];
  cgroupErrors: string[];
}

/** Restore the affinity saved at pin time (and undo cgroup moves), then forget the state. */
export async function unpinGuest(ref: string, opts: { root?: string; host: HostSnapshot; edge?: AffinityEdge; stateDir?: string }): Promise<UnpinOutcome> {
  const root = opts.root ?? '/';
  const dir = opts.stateDir ?? pinStateDir();
  const snap = await snapshotGuests({ root, host: opts.host, full: false, qmp: false });
  const g = findGuest(snap, ref);
  const state = loadPinState(g.pid, g.startTime, dir);
  if (!state) {
    throw new KvcpuError('E_UNPIN_NO_STATE', `kvcpu has no saved pin state for ${g.name} (pid ${g.pid})`, {
      hint: `pin it with kvcpu first, or reset by hand: taskset -a -p -c ${opts.host.cpus.online} ${g.pid}`,
    });
  }
  const edge = opts.edge ?? realAffinityEdge(root);
  const cgroupErrors = state.cgroup ? restoreCgroupMoves(root, state.cgroup.mount, state.cgroup.moves) : [];
  const restored: UnpinOutcome['restored'] = [];
  if (state.libvirt?.length) {
    // Pinned through libvirt: put it back through libvirt, so its view (and the XML) agrees.
    const problems = await restoreLibvirtPins(state.libvirt);
    if (problems.length) throw new KvcpuError('E_UNPIN_FAILED', `virsh could not restore: ${problems.join('; ')}`, { hint: 'restore by hand with virsh vcpupin/emulatorpin' });
  }
  // Then every thread to its own saved affinity (after virsh this only touches what libvirt does
  // not manage, e.g. emulator helper threads that had their own mask).
  for (const t of state.threads) {
    const cpus = parseCpulist(t.before);
    let now: number[] | null = null;
    try {
      await edge.set(t.tid, cpus);
      now = await edge.get(g.pid, t.tid);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ESRCH') throw new KvcpuError('E_UNPIN_FAILED', `restoring tid ${t.tid} to ${t.before}: ${(e as Error).message}`);
    }
    restored.push({ tid: t.tid, label: t.label, comm: t.comm, from: t.after, to: t.before, now: now ? formatCpulist(now) : null });
  }
  removePinState(g.pid, g.startTime, dir);
  return { guest: g.name, pid: g.pid, restored, cgroupErrors };
}
