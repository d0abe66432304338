import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { isKvcpuError, KvcpuError } from '../core/errors.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { PinPlan } from '../plan/pin-plan.ts';
import { realAffinityEdge, tasksetCommand, type AffinityEdge } from './affinity-edge.ts';
import { applyPins, type PinResult } from './apply-pins.ts';
import { buildPinRequests, validatePinRequests, type GuestPinSpec, type PinRequest } from './build-pin-requests.ts';
import { cgroupLeafFor, CpusetManager, detectCpusetMount, readThreadCpuset, removeStaleCgroups, restoreCgroupMoves } from './cgroup-cpuset.ts';
import { findGuest } from './find-guest.ts';
import { pinViaLibvirt, restoreLibvirtPins, virsh, virshCommands, type LibvirtPin, type UnpluggedVcpuPin } from './libvirt-pins.ts';
import { acquirePinLocks, stateDirError } from './pin-lock.ts';
import { loadPinState, pinStateDir, removePinState, savePinState, type PinState } from './pin-state.ts';
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
  /**
   * How libvirt domains are pinned. 'auto' (default): through libvirt when virsh answers for
   * the domain, so libvirt stays the source of truth (`virsh vcpupin` shows the pins and
   * libvirt does not re-apply old ones on its next change); 'libvirt' (--via-libvirt): every
   * guest must be a libvirt domain that answers; 'direct' (--direct): sched_setaffinity even
   * for libvirt domains, with a warning. Plain QEMU guests are always pinned directly.
   */
  route?: 'auto' | 'libvirt' | 'direct';
  /** @deprecated use route: 'libvirt'. */
  viaLibvirt?: boolean;
  /** virsh --config: also persist in the domain XML. */
  persist?: boolean;
  /** A plan may cover only some vCPUs of a guest (--partial); otherwise that is refused. */
  partial?: boolean;
  /** Jobs come from a plan file (coverage is checked). */
  fromPlan?: boolean;
  stateDir?: string;
  /** `virsh dominfo DOM` text, null when libvirt does not answer (tests inject it). */
  dominfo?: (domain: string) => Promise<string | null>;
}

export interface PinOutcome {
  dryRun: boolean;
  method: string;
  requests: PinRequest[];
  /** Equivalent shell commands (what --dry-run prints). */
  commands: string[];
  result: PinResult | null;
  statePaths: string[];
  /** Things the user should know (direct pins of a libvirt domain, libvirt not answering). */
  warnings: string[];
  /** Cgroups of gone guests removed first (kvcpu/<guest>.<pid> of dead pids). */
  cleaned: string[];
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
export function describeCommands(
  guests: Map<number, GuestProcess>,
  reqs: PinRequest[],
  viaLibvirt: boolean,
  persist: boolean,
  unplugged: UnpluggedVcpuPin[] = [],
): string[] {
  if (viaLibvirt) return virshCommands(guests, reqs, persist, unplugged).map((args) => ['virsh', ...args].join(' '));
  return reqs.map((r) => `${tasksetCommand(r.tid, r.cpus)}   # ${r.guest} ${r.label} (${r.comm})`);
}

async function realDominfo(domain: string): Promise<string | null> {
  try {
    return await virsh(['dominfo', domain], 15_000);
  } catch {
    return null;
  }
}

/**
 * A manager that owns the guest's cgroups: libvirt (its domains live in
 * machine/<id>-<name>.libvirt-qemu or machine.slice/machine-qemu…scope) or systemd's
 * machined (machine.slice). kvcpu never moves such threads into cgroups of its own: the
 * manager would fight it (libvirt's next vcpupin fails with EINVAL on a thread it lost).
 */
export function cgroupManagerOf(g: GuestProcess, root: string): string | null {
  if (g.libvirt) return 'libvirt';
  let text: string;
  try {
    text = readFileSync(join(root, 'proc', String(g.pid), 'cgroup'), 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (/\.libvirt-qemu(\/|$)|libvirt/.test(path)) return 'libvirt';
    if (/(^|\/)machine\.slice(\/|$)/.test(path)) return 'systemd (machine.slice)';
  }
  return null;
}

/**
 * Pin one or more guests all-or-nothing: one scan, one combined request list (so a plan
 * covering several guests rolls back every guest if any thread fails), validation before any
 * change, then apply + verify (apply-pins.ts), then save the previous affinity for unpin.
 * libvirt domains go through libvirt (see PinOptions.route); a mixed plan pins the libvirt
 * part first and undoes it if the direct part fails.
 */
export async function pinGuests(jobs: PinJob[], opts: PinOptions): Promise<PinOutcome> {
  const root = opts.root ?? '/';
  const route = opts.route ?? (opts.viaLibvirt ? 'libvirt' : 'auto');
  const persist = opts.persist ?? false;
  const warnings: string[] = [];
  const mount = detectCpusetMount(root);
  // Cgroups of guests that are gone (kvcpu/<guest>.<pid> of a dead pid) go first.
  const cleaned = mount && !opts.dryRun ? removeStaleCgroups(root, mount) : [];
  const snap = await snapshotGuests({ root, host: opts.host, full: false });
  const byPid = new Map<number, GuestProcess>();
  const specs = new Map<number, GuestPinSpec>();
  for (const j of jobs) {
    const g = findGuest(snap, j.guest);
    if (byPid.has(g.pid)) throw new KvcpuError('E_BAD_INPUT', `guest ${g.name} appears twice in the request`, { hint: 'merge its entries' });
    byPid.set(g.pid, g);
    specs.set(g.pid, j.spec);
  }
  // Which guests go through libvirt: decided (and libvirt asked) before anything changes.
  const dominfo = opts.dominfo ?? realDominfo;
  const viaLibvirtPids = new Set<number>();
  const transient: string[] = [];
  for (const g of byPid.values()) {
    if (route === 'libvirt' && !g.libvirt) continue; // refused below, all together
    if (!g.libvirt) continue;
    if (route === 'direct') {
      warnings.push(
        `${g.name} is a libvirt domain pinned directly (--direct): libvirt does not know, \`virsh vcpupin ${g.name}\` still shows its old pins and libvirt re-applies them on its next change`,
      );
      continue;
    }
    const info = await dominfo(g.name);
    if (info === null) {
      if (route === 'libvirt') {
        throw new KvcpuError('E_LIBVIRT_UNREACHABLE', `libvirt does not answer for domain ${g.name} (virsh dominfo ${g.name} failed); nothing was changed`, {
          hint: 'check libvirtd and `virsh list`, or pin directly with --direct',
        });
      }
      warnings.push(`libvirt does not answer for ${g.name} (virsh dominfo failed): pinned directly; libvirt will not know`);
      continue;
    }
    viaLibvirtPids.add(g.pid);
    if (/^Persistent:\s*no\s*$/m.test(info)) transient.push(g.name);
  }
  if (route === 'libvirt') {
    const notLibvirt = [...byPid.values()].filter((g) => !g.libvirt);
    if (notLibvirt.length) {
      throw new KvcpuError('E_NOT_LIBVIRT', `not libvirt domains: ${notLibvirt.map((g) => g.name).join(', ')}`, {
        hint: 'drop --via-libvirt for plain QEMU guests',
      });
    }
  }
  if (persist) {
    const direct = [...byPid.values()].filter((g) => !viaLibvirtPids.has(g.pid));
    if (direct.length) {
      throw new KvcpuError('E_USAGE', `--config persists into libvirt's domain XML; not pinned through libvirt: ${direct.map((g) => g.name).join(', ')}`, {
        hint: 'drop --config (and --direct) or pin libvirt domains only',
      });
    }
    // --config writes the domain XML: a transient domain (virsh create) has none. Refuse up front.
    if (transient.length) {
      throw new KvcpuError('E_PIN_INVALID', `refusing to pin (nothing was changed): --config needs a persistent domain; transient: ${transient.join(', ')}`, {
        hint: 'drop --config (pin live only), or `virsh define` the domain first',
        details: { problems: transient.map((d) => `${d} is transient (no domain XML to persist into)`) },
      });
    }
  }
  if (opts.cgroup) {
    // Never move a thread a manager owns out of its cgroup (issue 16 item 8).
    const managed = [...byPid.values()]
      .map((g) => [g, viaLibvirtPids.has(g.pid) ? 'libvirt' : cgroupManagerOf(g, root)] as const)
      .filter(([, m]) => m !== null);
    if (managed.length) {
      throw new KvcpuError(
        'E_PIN_CGROUP_MANAGED',
        `refusing --cgroup (nothing was changed): ${managed.map(([g, m]) => `${g.name}'s threads belong to ${m}'s cgroups`).join('; ')}; moving them would take them from their manager`,
        {
          hint: managed.some(([, m]) => m === 'libvirt')
            ? "drop --cgroup: pinning through libvirt (the default for libvirt domains) already sets the cpuset of libvirt's own per-vCPU cgroups (machine/…/vcpuN)"
            : 'drop --cgroup (affinity alone), or let the manager set the cpuset (systemctl set-property … AllowedCPUs=)',
          details: { managed: managed.map(([g, m]) => ({ guest: g.name, pid: g.pid, manager: m })) },
        },
      );
    }
  }
  // Requests; vCPUs that libvirt knows but that are not plugged yet are pinned in libvirt only.
  const reqs: PinRequest[] = [];
  const unplugged: UnpluggedVcpuPin[] = [];
  for (const g of byPid.values()) {
    const spec = specs.get(g.pid)!;
    let vcpus = spec.vcpus;
    if (viaLibvirtPids.has(g.pid) && !g.threads.some((t) => t.role === 'vcpu' && t.vcpus)) {
      vcpus = new Map();
      for (const [n, cpus] of spec.vcpus) {
        const plugged = g.threads.some((t) => t.role === 'vcpu' && t.vcpu === n);
        if (!plugged && n < g.config.maxCpus) unplugged.push({ pid: g.pid, domain: g.name, vcpu: n, cpus });
        else vcpus.set(n, cpus);
      }
    }
    if (opts.fromPlan && !opts.partial) {
      const have = new Set(g.threads.filter((t) => t.role === 'vcpu').flatMap((t) => (t.vcpus ? t.vcpus : t.vcpu === null ? [] : [t.vcpu])));
      const missing = [...have].filter((n) => !spec.vcpus.has(n)).sort((a, b) => a - b);
      if (missing.length) {
        throw new KvcpuError(
          'E_PIN_PLAN_PARTIAL',
          `the plan pins ${spec.vcpus.size} vCPU(s) of ${g.name}, which runs ${have.size}: vCPU ${formatCpulist(missing)} would stay unpinned; nothing was changed`,
          {
            hint: "plan for the guest's real vCPU count (`kvcpu plan`), or pass --partial to pin only the listed vCPUs",
            details: { guest: g.name, missing },
          },
        );
      }
    }
    reqs.push(...buildPinRequests(g, { ...spec, vcpus }));
  }
  if (reqs.length === 0 && unplugged.length === 0)
    throw new KvcpuError('E_BAD_INPUT', 'nothing to pin', { hint: 'give --vcpu N=CPUS, --emulator CPUS or --iothread ID=CPUS' });
  const libReqs = reqs.filter((r) => viaLibvirtPids.has(r.pid));
  const directReqs = reqs.filter((r) => !viaLibvirtPids.has(r.pid));
  const own = callerAllowed(root);
  const problems = [
    // Through libvirt, libvirt's rules decide: it widens its own per-vCPU cgroup cpusets, so
    // only "is the CPU online" is checked here (libvirt refuses the rest, and kvcpu rolls back).
    ...validatePinRequests(
      [
        ...libReqs,
        ...unplugged.map((u) => ({
          pid: u.pid,
          startTime: 0,
          guest: u.domain,
          tid: 0,
          comm: '',
          label: `vcpu ${u.vcpu}`,
          role: 'vcpu' as const,
          vcpu: u.vcpu,
          iothread: null,
          cpus: u.cpus,
        })),
      ],
      { online: parseCpulist(opts.host.cpus.online), callerAllowed: null, threadCpuset: () => null },
    ),
    ...validatePinRequests(directReqs, {
      online: parseCpulist(opts.host.cpus.online),
      callerAllowed: own,
      threadCpuset: (pid, tid) => readThreadCpuset(root, mount, pid, tid),
    }),
  ];
  if (problems.length) {
    throw new KvcpuError('E_PIN_INVALID', `refusing to pin (nothing was changed):\n  ${problems.join('\n  ')}`, {
      hint: `choose online CPUs (${opts.host.cpus.online}) inside the allowed set (see \`kvcpu host\`)`,
      details: { problems },
    });
  }
  const libGuests = new Map([...byPid].filter(([pid]) => viaLibvirtPids.has(pid)));
  const commands = [
    ...(libGuests.size ? describeCommands(libGuests, libReqs, true, persist, unplugged) : []),
    ...describeCommands(byPid, directReqs, false, false),
  ];
  const edge = opts.edge ?? realAffinityEdge(root);
  let cg: CpusetManager | null = null;
  if (opts.cgroup && directReqs.length) {
    if (!mount) throw new KvcpuError('E_CGROUP', 'no cpuset cgroup controller is mounted', { hint: 'pin without --cgroup' });
    cg = new CpusetManager(mount, root);
    if (opts.dryRun) {
      commands.length = 0;
      commands.push(...(libGuests.size ? describeCommands(libGuests, libReqs, true, persist, unplugged) : []));
      for (const r of directReqs) {
        for (const w of cg.describePlace(`${r.guest}.${r.pid}`, cgroupLeafFor(r), r.pid, r.tid, formatCpulist(r.cpus))) commands.push(w);
        commands.push(`${tasksetCommand(r.tid, r.cpus)}   # ${r.guest} ${r.label} (${r.comm})`);
      }
    }
  }
  const method = [libGuests.size ? 'virsh' : '', directReqs.length ? edge.method + (cg ? ` + cgroup v${cg.mount.version} cpuset` : '') : '']
    .filter(Boolean)
    .join(' + ');
  if (opts.dryRun) return { dryRun: true, method, requests: reqs, commands, result: null, statePaths: [], warnings, cleaned };

  // One pin/unpin per guest at a time, from reading "before" to saving it (pin-lock.ts); taking
  // the lock also proves the state directory is writable before anything changes.
  const stateDir = opts.stateDir ?? pinStateDir();
  const lock = await acquirePinLocks(stateDir, [...byPid.values()]);
  try {
    let libResult: (PinResult & { pins: LibvirtPin[] }) | null = null;
    if (libGuests.size) {
      try {
        libResult = await pinViaLibvirt(libGuests, libReqs, persist, edge, unplugged);
      } catch (e) {
        if (isKvcpuError(e) && e.code === 'E_LIBVIRT_LOST') throw saveLostLibvirtPins(e, libGuests, stateDir);
        throw e;
      }
    }
    let directResult: PinResult = { method: edge.method, applied: [] };
    if (directReqs.length) {
      try {
        directResult = await applyPins(directReqs, { edge, root, cgroup: cg });
      } catch (e) {
        // All or nothing across both halves: the libvirt half goes back too.
        if (libResult) {
          const back = await restoreLibvirtPins([...libResult.pins].reverse());
          if (isKvcpuError(e)) {
            throw new KvcpuError(
              e.code,
              `${e.message}; rolled back ${libResult.pins.length} virsh change(s) too${back.length ? ` (problems: ${back.join('; ')})` : ''}`,
              { hint: e.hint, details: e.details },
            );
          }
        }
        throw e;
      }
    }
    const result: PinResult = { method, applied: [...(libResult?.applied ?? []), ...directResult.applied] };
    const statePaths = await saveStatesOrRollBack(byPid, result, { cgroup: cg, libvirt: libResult?.pins ?? [] }, stateDir, edge);
    return { dryRun: false, method, requests: reqs, commands, result, statePaths, warnings, cleaned };
  } finally {
    lock.release();
  }
}

/**
 * libvirtd went away mid-pin with virsh changes kvcpu could not undo: save them as the guests'
 * pin state (merged with an earlier pin's, keeping the first "before"), so `kvcpu unpin` puts
 * them back through libvirt once it answers again. Returns the error to throw, saying where.
 */
function saveLostLibvirtPins(e: KvcpuError, guests: Map<number, GuestProcess>, stateDir: string): KvcpuError {
  const details = (e.details ?? {}) as { notRolledBack?: LibvirtPin[]; threads?: (PinState['threads'][number] & { pid: number })[] };
  const lost = details.notRolledBack ?? [];
  const saved: string[] = [];
  const problems: string[] = [];
  for (const g of guests.values()) {
    const libvirt = lost.filter((p) => p.domain === g.name);
    if (!libvirt.length) continue;
    try {
      saved.push(
        savePinState(
          {
            kind: 'kvcpu-pin-state',
            pid: g.pid,
            startTime: g.startTime,
            guest: g.name,
            savedAt: new Date().toISOString(),
            threads: (details.threads ?? []).filter((t) => t.pid === g.pid).map(({ pid: _p, ...t }) => t),
            cgroup: null,
            libvirt,
          },
          stateDir,
        ),
      );
    } catch (err) {
      problems.push(`${g.name}: ${(err as Error).message}`);
    }
  }
  const names = [...new Set(lost.map((p) => p.domain))];
  const next = saved.length ? `; saved in ${saved.join(', ')}: once libvirtd answers, \`kvcpu unpin ${names.join('` / `kvcpu unpin ')}\` puts them back` : '';
  return new KvcpuError('E_LIBVIRT_LOST', `${e.message}${next}${problems.length ? `; saving the pin state failed: ${problems.join('; ')}` : ''}`, {
    hint: e.hint,
    details: { ...(e.details as object), statePaths: saved, ...(problems.length ? { stateProblems: problems } : {}) },
  });
}

/**
 * Save the state, or undo the pin: a pin unpin cannot undo (state lost to ENOSPC/EACCES) is
 * worse than no pin, so the all-or-nothing promise covers the state file too.
 */
async function saveStatesOrRollBack(
  byPid: Map<number, GuestProcess>,
  result: PinResult,
  undo: { cgroup: CpusetManager | null; libvirt: LibvirtPin[] },
  stateDir: string,
  edge: AffinityEdge,
): Promise<string[]> {
  try {
    return saveStates(byPid, result, undo, stateDir);
  } catch (e) {
    const problems: string[] = [];
    if (undo.libvirt.length) problems.push(...(await restoreLibvirtPins(undo.libvirt)));
    if (undo.cgroup) problems.push(...undo.cgroup.undo());
    for (const a of [...result.applied].reverse()) {
      if (a.tid === 0) continue;
      try {
        await edge.set(a.tid, parseCpulist(a.before));
      } catch (err) {
        if ((err as { code?: string }).code !== 'ESRCH') problems.push(`tid ${a.tid}: ${(err as Error).message}`);
      }
    }
    const base = stateDirError(stateDir, e, 'save the pin state');
    throw new KvcpuError(
      'E_PIN_STATE_DIR',
      `${base.message}; rolled back ${result.applied.length} thread(s)${problems.length ? `, rollback problems: ${problems.join('; ')}` : ''}`,
      {
        hint: base.hint,
        details: { ...base.details, rolledBack: result.applied.length, rollbackErrors: problems },
        cause: e,
      },
    );
  }
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
        threads: result.applied
          .filter((a) => a.pid === g.pid && a.tid !== 0)
          .map((a) => ({ tid: a.tid, comm: a.comm, label: a.label, before: a.before, after: a.after })),
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
  /** Cgroups of gone guests removed on the way (kvcpu/<guest>.<pid>). */
  cleaned: string[];
  /** The guest was already gone: only its leftovers (cgroups, state) were removed. */
  gone?: boolean;
}

/** How to reset a guest kvcpu holds no state for: through libvirt for its domains. */
function resetHint(g: GuestProcess, online: string): string {
  if (!g.libvirt) return `pin it with kvcpu first, or reset by hand: taskset -a -p -c ${online} ${g.pid}`;
  // taskset on a libvirt domain would undo its <cputune> behind its back: go through virsh.
  const n = g.config.maxCpus || g.vcpuCount;
  return `it was not pinned by kvcpu; reset through libvirt (taskset would undo the domain's <cputune> behind libvirt's back): ${
    n > 1 ? `for v in $(seq 0 ${n - 1}); do virsh vcpupin ${g.name} $v ${online} --live; done` : `virsh vcpupin ${g.name} 0 ${online} --live`
  }; virsh emulatorpin ${g.name} ${online} --live`;
}

/**
 * Restore the affinity saved at pin time (and undo cgroup moves), verify it by re-reading
 * /proc, then forget the state. A guest that is gone leaves only cgroups and state behind:
 * those are removed and reported.
 */
export async function unpinGuest(ref: string, opts: { root?: string; host: HostSnapshot; edge?: AffinityEdge; stateDir?: string }): Promise<UnpinOutcome> {
  const root = opts.root ?? '/';
  const dir = opts.stateDir ?? pinStateDir();
  const mount = detectCpusetMount(root);
  const snap = await snapshotGuests({ root, host: opts.host, full: false, qmp: false });
  let g: GuestProcess;
  try {
    g = findGuest(snap, ref);
  } catch (e) {
    // The guest is gone: clean what kvcpu left for it (cgroups named <guest>.<pid>, state).
    const byPid = /^\d+$/.test(ref) ? { pid: Number(ref) } : { name: ref };
    const cleaned = mount ? removeStaleCgroups(root, mount, byPid) : [];
    const states = removeStatesOf(dir, byPid, root);
    if (isKvcpuError(e) && e.code === 'E_GUEST_NOT_FOUND' && (cleaned.length || states.length)) {
      return {
        guest: ref,
        pid: states[0] ?? Number(/\(pid (\d+)/.exec(cleaned[0] ?? '')?.[1] ?? 0),
        restored: [],
        cgroupErrors: [],
        cleaned: [...cleaned, ...states.map((p) => `removed pin state of gone pid ${p}`)],
        gone: true,
      };
    }
    throw e;
  }
  const lock = await acquirePinLocks(dir, [g]);
  try {
    return await unpinLocked(g, dir, root, mount, opts);
  } finally {
    lock.release();
  }
}

async function unpinLocked(
  g: GuestProcess,
  dir: string,
  root: string,
  mount: ReturnType<typeof detectCpusetMount>,
  opts: { host: HostSnapshot; edge?: AffinityEdge },
): Promise<UnpinOutcome> {
  const cleaned = mount ? removeStaleCgroups(root, mount) : [];
  const state = loadPinState(g.pid, g.startTime, dir);
  if (!state) {
    throw new KvcpuError('E_UNPIN_NO_STATE', `kvcpu has no saved pin state for ${g.name} (pid ${g.pid})`, { hint: resetHint(g, opts.host.cpus.online) });
  }
  const edge = opts.edge ?? realAffinityEdge(root);
  const cgroupErrors = state.cgroup ? restoreCgroupMoves(root, state.cgroup.mount, state.cgroup.moves) : [];
  const restored: UnpinOutcome['restored'] = [];
  if (state.libvirt?.length) {
    // Pinned through libvirt: put it back through libvirt, so its view (and the XML) agrees.
    const problems = await restoreLibvirtPins(state.libvirt);
    if (problems.length)
      throw new KvcpuError('E_UNPIN_FAILED', `virsh could not restore: ${problems.join('; ')}`, { hint: 'restore by hand with virsh vcpupin/emulatorpin' });
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
  // "Restored" only when /proc says so: the kernel silently narrows a mask to the thread's
  // cpuset, and a manager may have changed things since.
  const differs = restored.filter((r) => r.now !== null && r.now !== r.to);
  if (differs.length) {
    throw new KvcpuError(
      'E_UNPIN_VERIFY',
      `unpin of ${g.name} did not take: ${differs.map((r) => `${r.label} (tid ${r.tid}) is on ${r.now}, saved ${r.to}`).join('; ')}; pin state kept`,
      {
        hint: "something else limits these threads (a cgroup cpuset: see /proc/PID/task/TID/cgroup, or libvirt's <cputune>); fix that, then run `kvcpu unpin` again",
        details: { differs, cgroupErrors },
      },
    );
  }
  removePinState(g.pid, g.startTime, dir);
  return { guest: g.name, pid: g.pid, restored, cgroupErrors, cleaned };
}

/** Remove state files of a gone guest (by pid, or by the guest name saved in them). */
function removeStatesOf(dir: string, who: { name?: string; pid?: number }, root: string): number[] {
  const out: number[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const f of files) {
    const m = /^pin-(\d+)-(\d+)\.json$/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    if (existsSync(join(root, 'proc', String(pid)))) continue;
    let name: string | null;
    try {
      name = (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { guest?: string }).guest ?? null;
    } catch {
      name = null;
    }
    if ((who.pid !== undefined && who.pid === pid) || (who.name !== undefined && who.name === name)) {
      removePinState(pid, Number(m[2]), dir);
      out.push(pid);
    }
  }
  return out;
}
