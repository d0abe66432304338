/**
 * `kvcpu topology suggest`: choose a guest's sockets/dies/cores/threads (and maxcpus layout)
 * from the host's topology, the host CPUs the guest will be pinned to, and the guest OS.
 *
 * Rules (each produces one line of explanation):
 * - threads > 1 only when the pinned host CPUs are whole SMT sibling groups of one size: then a
 *   guest core really is a host core and the guest scheduler's SMT decisions hold. Unpinned
 *   vCPUs float, so their "siblings" would be arbitrary host CPUs: threads=1.
 * - pinned CPUs spanning host NUMA nodes → one guest socket (and one guest NUMA node) per host
 *   node; within one node but several host sockets → one guest socket per host socket; else one.
 * - a guest socket spanning several host L3 domains → one die per domain (x86 q35/pc): QEMU 7.2
 *   reports the L3 cache as shared per die (target/i386/cpu.c, CPUID 4 and 0x8000001D).
 * - Windows client editions take at most 2 sockets; kvcpu keeps Windows Server to 4.
 * - --max: hot-pluggable slots are added as whole sockets (multi-socket guests) or whole cores
 *   (single socket), because QEMU makes vCPUs 0..cpus-1 present in index order
 *   (socket, die, core, thread): growing cores of a multi-socket guest would fill socket 0 first.
 * The result is validated with parseSmp against the target machine (default pc-q35-7.2).
 */
import { formatCpulist, parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { HostSnapshot, PerCpuRow } from '../host/types.ts';
import { parseSmp } from '../smp/parse-smp.ts';
import { DEFAULT_MACHINE, DEFAULT_QEMU_VERSION, parseQemuVersion, resolveMachine, type MachineInfo } from '../smp/qemu-machines.ts';
import type { GuestTopology, SmpResult } from '../smp/types.ts';
import { checkVcpusFitHost } from '../guests/assess-overcommit.ts';

export const GUEST_OSES = ['linux', 'windows-10', 'windows-11', 'windows-server'] as const;
export type GuestOs = (typeof GUEST_OSES)[number];

export interface SuggestTopologyRequest {
  vcpus: number;
  host: HostSnapshot;
  /**
   * Host CPUs the guest will be pinned to, one per vCPU: a set. kvcpu maps vCPUs to them in
   * topology order (see `pin`); give them as written (expandCpulist) so that a repeated CPU is
   * refused and a different order is pointed out.
   */
  cpus?: number[];
  os?: GuestOs;
  /** maxcpus (hot-pluggable headroom); default = vcpus. */
  max?: number;
  machine?: string;
  qemuVersion?: string;
  /**
   * How hot-pluggable slots are laid out: 'auto' (whole sockets for multi-socket guests, whole
   * cores otherwise) or 'socket' (always whole sockets: KubeVirt hot-plugs only sockets).
   */
  hotplugUnit?: 'auto' | 'socket';
}

export interface SuggestedNumaNode {
  guestNode: number;
  /** Guest vCPU ids (cpulist). */
  vcpus: string;
  hostNode: number | null;
  /** Host CPUs behind it (pinned guests), else the host node's CPUs. */
  hostCpus: string;
}

export interface TopologySuggestion {
  topology: GuestTopology;
  /** The -smp value, as parseSmp canonicalises it. */
  smp: string;
  machine: string;
  /** vCPU i → host CPU (pinned guests; QEMU vCPU index order), null when not pinned. */
  pin: { vcpu: number; hostCpu: number }[] | null;
  /** Guest NUMA nodes to define (empty: one node is fine). */
  numa: SuggestedNumaNode[];
  hotplug: { level: 'socket' | 'die' | 'core' | 'none'; vcpusPerStep: number; steps: number };
  /** One line per choice. */
  reasons: string[];
  warnings: string[];
}

/** Max sockets per guest OS: Windows 10/11 (client) use at most 2 processor sockets. */
function osMaxSockets(os: GuestOs): number {
  if (os === 'windows-10' || os === 'windows-11') return 2;
  if (os === 'windows-server') return 4;
  return Infinity;
}

function groupBy<T, K>(items: T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

function allEqual(ns: number[]): boolean {
  return ns.every((n) => n === ns[0]);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The request, checked, with the host facts every step reads. */
interface Inputs {
  req: SuggestTopologyRequest;
  vcpus: number;
  maxcpus: number;
  os: GuestOs;
  host: HostSnapshot;
  machine: MachineInfo;
  online: number[];
  onlineSet: Set<number>;
  rows: Map<number, PerCpuRow>;
  /** The machine-wide sibling partition: host CPU → its core's CPUs (online ones). */
  coreOf: Map<number, number[]>;
  coreKey: (c: number) => number;
  /** The pinned host CPUs as a sorted set, undefined for a floating guest. */
  pinned: number[] | undefined;
}

/** The topology as the steps below build it (present vCPUs first, then hot-plug growth). */
interface Draft {
  threads: number;
  sockets: number;
  dies: number;
  cores: number;
  /** Groups of host CPUs, one per guest socket (pinned guests), in host order. */
  socketGroups: number[][] | undefined;
  /** Per socket, per die. */
  dieGroups: number[][][] | undefined;
  numa: SuggestedNumaNode[];
  hotplug: TopologySuggestion['hotplug'];
  /** The levels with the hot-pluggable slots. */
  maxSockets: number;
  maxDies: number;
  maxCores: number;
  reasons: string[];
  warnings: string[];
}

/** Choose the guest topology. Throws KvcpuError (E_*) for bad input; returns the plan otherwise. */
export function suggestTopology(req: SuggestTopologyRequest): TopologySuggestion {
  const d: Draft = {
    threads: 1,
    sockets: 1,
    dies: 1,
    cores: 0,
    socketGroups: undefined,
    dieGroups: undefined,
    numa: [],
    hotplug: { level: 'none', vcpusPerStep: 0, steps: 0 },
    maxSockets: 0,
    maxDies: 0,
    maxCores: 0,
    reasons: [],
    warnings: [],
  };
  const input = checkRequest(req, d.warnings);
  chooseThreads(input, d);
  chooseSockets(input, d);
  chooseDies(input, d);
  applyOsSocketLimit(input, d);
  splitCores(input, d);
  planHotplug(input, d);
  relabelGrownLevels(d);
  const { topology, check } = validateTopology(input, d);
  const pin = pinOrder(input, d);
  return { topology, smp: check.canonical, machine: check.machine, pin, numa: d.numa, hotplug: d.hotplug, reasons: d.reasons, warnings: d.warnings };
}

function checkRequest(req: SuggestTopologyRequest, warnings: string[]): Inputs {
  const { vcpus, host } = req;
  const os: GuestOs = req.os ?? 'linux';
  if (!Number.isSafeInteger(vcpus) || vcpus < 1) {
    throw new KvcpuError('E_BAD_INPUT', `--vcpus must be a positive integer, got ${vcpus}`, { hint: 'e.g. --vcpus 8' });
  }
  const maxcpus = req.max ?? vcpus;
  if (!Number.isSafeInteger(maxcpus) || maxcpus < vcpus) {
    throw new KvcpuError('E_MAX_BELOW_VCPUS', `--max ${maxcpus} is below --vcpus ${vcpus}`, {
      hint: 'maxcpus counts every possible vCPU, present ones included: use --max >= --vcpus',
    });
  }
  const qemuVersion = parseQemuVersion(req.qemuVersion ?? DEFAULT_QEMU_VERSION);
  const machine = qemuVersion ? resolveMachine(req.machine ?? DEFAULT_MACHINE, qemuVersion) : undefined;
  if (!machine || 'code' in machine) {
    throw new KvcpuError(
      'E_SMP_MACHINE_UNKNOWN',
      `unsupported machine type or QEMU version: ${req.machine ?? DEFAULT_MACHINE} / ${req.qemuVersion ?? DEFAULT_QEMU_VERSION}`,
      {
        hint: 'use e.g. --machine q35 (QEMU 7.2)',
      },
    );
  }

  const online = parseCpulist(host.cpus.online);
  const onlineSet = new Set(online);
  const rows = new Map<number, PerCpuRow>(host.perCpu.map((r) => [r.cpu, r]));
  const coreOf = new Map<number, number[]>();
  for (const g of host.topology.coreGroups) {
    const members = parseCpulist(g);
    for (const c of members) coreOf.set(c, members);
  }
  const coreKey = (c: number) => (coreOf.get(c) ?? [c])[0]!;

  const pinned = req.cpus ? [...new Set(req.cpus)].sort((a, b) => a - b) : undefined;
  if (pinned) {
    if (req.cpus!.length !== pinned.length) {
      throw new KvcpuError('E_CPUS_DUPLICATE', `--cpus lists a host CPU more than once`, { hint: 'give one distinct host CPU per vCPU' });
    }
    const notOnline = pinned.filter((c) => !onlineSet.has(c));
    if (notOnline.length) {
      throw new KvcpuError('E_CPUS_NOT_ONLINE', `--cpus ${formatCpulist(notOnline)} not online on this host (online: ${host.cpus.online})`, {
        hint: 'pin only to online host CPUs (see `kvcpu host`)',
      });
    }
    if (pinned.length !== vcpus) {
      throw new KvcpuError('E_CPUS_COUNT_MISMATCH', `--cpus lists ${plural(pinned.length, 'host CPU')} but --vcpus is ${vcpus}`, {
        hint: 'give exactly one host CPU per vCPU (dedicated pinning), or drop --cpus',
      });
    }
  }
  // One rule with `overcommit` and `hotplug` (checkVcpusFitHost): more present vCPUs than host
  // CPUs is refused here (overcommit would FAIL the running guest), a maxcpus above the host is
  // the same warning overcommit gives.
  for (const f of checkVcpusFitHost({ vcpus, maxVcpus: maxcpus, hostCpus: online.length })) {
    if (f.status === 'FAIL') throw new KvcpuError('E_VCPUS_EXCEED_HOST', `--vcpus ${vcpus}: ${f.message}`, { hint: `use --vcpus <= ${online.length}` });
    warnings.push(`--max ${maxcpus}: ${f.message}`);
  }
  return { req, vcpus, maxcpus, os, host, machine, online, onlineSet, rows, coreOf, coreKey, pinned };
}

// ---- threads -------------------------------------------------------------------------
function chooseThreads(input: Inputs, d: Draft): void {
  const { pinned, host, coreOf, coreKey } = input;
  const { reasons } = d;
  if (pinned) {
    const cores = groupBy(pinned, coreKey);
    const sizes = [...cores.entries()].map(([k, members]) => ({ full: members.length === (coreOf.get(k)?.length ?? 1), n: members.length }));
    const allFull = sizes.every((s) => s.full);
    const t = sizes[0]?.n ?? 1;
    if (!host.topology.smt) {
      reasons.push('threads=1: the host has no SMT');
    } else if (allFull && allEqual(sizes.map((s) => s.n)) && t > 1) {
      d.threads = t;
      reasons.push(`threads=${t}: the pinned CPUs are ${plural(cores.size, 'whole host core')} (${t} SMT siblings each), so guest siblings are host siblings`);
    } else if (sizes.some((s) => s.n > 1)) {
      reasons.push('threads=1: some pinned host cores are not pinned with all their SMT siblings, so guest "siblings" would not share a host core');
    } else {
      reasons.push('threads=1: the pinned CPUs are one thread each of different host cores (no SMT pairs)');
    }
  } else {
    reasons.push(
      host.topology.smt
        ? 'threads=1: unpinned vCPUs float over host CPUs, so guest SMT siblings would not be host siblings (pin with --cpus LIST of whole cores to get threads>1)'
        : 'threads=1: the host has no SMT',
    );
  }
}

// ---- sockets (and guest NUMA nodes) ----------------------------------------------------
function chooseSockets(input: Inputs, d: Draft): void {
  const { pinned, host, rows, onlineSet, online, vcpus } = input;
  const { reasons, warnings, numa, threads } = d;
  const nodeCpus = host.numa.nodes.filter((n) => n.cpus.trim() !== '').map((n) => ({ id: n.id, cpus: parseCpulist(n.cpus).filter((c) => onlineSet.has(c)) }));
  if (pinned) {
    const byNode = groupBy(pinned, (c) => rows.get(c)?.node ?? null);
    const bySocket = groupBy(pinned, (c) => rows.get(c)?.socket ?? null);
    const evenSplit = (groups: number[][]) => allEqual(groups.map((g) => g.length)) && groups.every((g) => g.length % threads === 0);
    const nodeGroups = [...byNode.values()];
    const socketGroupsHost = [...bySocket.values()];
    // CPUs without a node (broken or missing NUMA info) cannot be mapped to guest nodes.
    const nodesKnown = !byNode.has(null);
    let socketGroups: number[][];
    if (byNode.size > 1 && nodesKnown && evenSplit(nodeGroups)) {
      socketGroups = nodeGroups;
      reasons.push(
        `sockets=${byNode.size}: the pinned CPUs span host NUMA nodes ${[...byNode.keys()].join(',')} (${nodeGroups[0]!.length} each): one guest socket and one guest NUMA node per host node`,
      );
      let v = 0;
      for (const [node, g] of byNode) {
        numa.push({
          guestNode: numa.length,
          vcpus: formatCpulist(Array.from({ length: g.length }, (_, i) => v + i)),
          hostNode: node,
          hostCpus: formatCpulist(g),
        });
        v += g.length;
      }
    } else if (byNode.size > 1 && nodesKnown) {
      socketGroups = [pinned];
      reasons.push(
        `sockets=1: the pinned CPUs span host NUMA nodes ${[...byNode.keys()].join(',')} unevenly (${nodeGroups.map((g) => g.length).join('+')}), which no uniform guest topology can mirror`,
      );
      warnings.push('pin the same number of whole cores on each host NUMA node so the guest can get one socket per node');
    } else if (bySocket.size > 1 && evenSplit(socketGroupsHost)) {
      socketGroups = socketGroupsHost;
      reasons.push(
        `sockets=${bySocket.size}: the pinned CPUs span host sockets ${[...bySocket.keys()].join(',')} (${socketGroupsHost[0]!.length} each) within one NUMA node`,
      );
    } else {
      socketGroups = [pinned];
      const s = [...bySocket.keys()];
      const l3s = new Set(pinned.map((c) => rows.get(c)?.l3 ?? null));
      reasons.push(
        `sockets=1: the pinned CPUs are within ${s.length === 1 ? `host socket ${s[0] ?? '?'}` : 'one host NUMA node'}${l3s.size === 1 && !l3s.has(null) ? ' and one L3 domain' : ''}`,
      );
    }
    d.socketGroups = socketGroups;
    d.sockets = socketGroups.length;
  } else {
    const sizes = nodeCpus.map((n) => n.cpus.length).filter((n) => n > 0);
    const smallest = sizes.length ? Math.min(...sizes) : online.length;
    if (nodeCpus.length <= 1) {
      reasons.push(`sockets=1: the host has ${nodeCpus.length === 1 ? 'one NUMA node' : 'no NUMA information'}`);
    } else if (vcpus <= Math.max(...sizes)) {
      const fit = nodeCpus.find((n) => n.cpus.length >= vcpus)!;
      reasons.push(
        `sockets=1: ${plural(vcpus, 'vCPU')} fit in one host NUMA node (node ${fit.id} has ${fit.cpus.length} CPUs); pin them there (--cpus) to keep memory local`,
      );
    } else {
      let k = Math.ceil(vcpus / smallest);
      while (k <= nodeCpus.length && vcpus % k !== 0) k++;
      if (k <= nodeCpus.length) {
        d.sockets = k;
        reasons.push(
          `sockets=${k}: ${plural(vcpus, 'vCPU')} need ${k} host NUMA nodes (${smallest} CPUs each at most): one guest socket and NUMA node per host node`,
        );
        for (let i = 0; i < k; i++) {
          const per = vcpus / k;
          numa.push({
            guestNode: i,
            vcpus: formatCpulist(Array.from({ length: per }, (_, j) => i * per + j)),
            hostNode: nodeCpus[i]!.id,
            hostCpus: formatCpulist(nodeCpus[i]!.cpus),
          });
        }
      } else {
        reasons.push(`sockets=1: ${plural(vcpus, 'vCPU')} cannot be split evenly over the host's ${nodeCpus.length} NUMA nodes`);
      }
    }
  }
}

// ---- dies: host L3 domains inside one guest socket (x86) --------------------------------
function chooseDies(input: Inputs, d: Draft): void {
  const { rows, machine } = input;
  const { socketGroups, threads, reasons } = d;
  if (!socketGroups) return;
  const per = socketGroups.map((g) => [...groupBy(g, (c) => rows.get(c)?.l3 ?? null).entries()]);
  const k = per[0]!.length;
  const uniform =
    per.every((p) => p.length === k && !p.some(([l3]) => l3 === null)) &&
    allEqual(per.flatMap((p) => p.map(([, g]) => g.length))) &&
    per.every((p) => p.every(([, g]) => g.length % threads === 0));
  if (k > 1 && uniform && machine.supports.dies) {
    d.dies = k;
    d.dieGroups = per.map((p) => p.map(([, g]) => g));
    reasons.push(`dies=${k}: each guest socket spans ${k} host L3 domains; QEMU reports the L3 cache per die, so the guest sees the same cache split`);
  } else if (k > 1 && uniform) {
    reasons.push(`dies=1: each guest socket spans ${k} host L3 domains, but machine ${machine.name} has no dies level`);
  } else if (k > 1) {
    reasons.push(`dies=1: the pinned CPUs spread unevenly over ${k} host L3 domains`);
  }
}

// ---- guest OS socket limit ---------------------------------------------------------------
function applyOsSocketLimit(input: Inputs, d: Draft): void {
  const { os, machine } = input;
  const { sockets, reasons } = d;
  const maxSockets = osMaxSockets(os);
  if (sockets > maxSockets) {
    let s = Math.min(maxSockets, sockets);
    while (sockets % s !== 0) s--;
    const merge = sockets / s;
    if (machine.supports.dies) {
      // Keep the host split visible: each former socket becomes a die of the merged socket.
      d.dies *= merge;
      const dies = d.dies;
      if (d.socketGroups) {
        const flat = (d.dieGroups ?? d.socketGroups.map((g) => [g])).flat();
        d.dieGroups = Array.from({ length: s }, (_, i) => flat.slice(i * dies, (i + 1) * dies));
      }
      reasons.push(
        `${os}: at most ${maxSockets} sockets${os === 'windows-server' ? ' (kvcpu caps Windows Server at 4: Standard edition licensing counts sockets; Datacenter takes more)' : ' (client editions use only 2 processor sockets)'}: ${sockets} sockets become ${s} with ${dies} dies each`,
      );
    } else {
      reasons.push(`${os}: at most ${maxSockets} sockets: ${sockets} sockets become ${s}`);
    }
    if (d.socketGroups) {
      const flat = d.socketGroups.flat();
      const per = flat.length / s;
      d.socketGroups = Array.from({ length: s }, (_, i) => flat.slice(i * per, (i + 1) * per));
    }
    d.sockets = s;
  } else if (os !== 'linux') {
    reasons.push(`${os}: ${plural(sockets, 'socket')} is within the OS limit of ${maxSockets}; the guest gets cores, not sockets`);
  }
}

// ---- cores: what is left per die ---------------------------------------------------------
function splitCores(input: Inputs, d: Draft): void {
  const { vcpus, pinned } = input;
  d.cores = vcpus / (d.sockets * d.dies * d.threads);
  if (!Number.isInteger(d.cores)) {
    // Defensive: every branch above keeps the groups divisible; fall back to one socket.
    d.warnings.push(`could not split ${vcpus} vCPUs evenly; using one socket`);
    d.sockets = d.dies = d.threads = 1;
    d.cores = vcpus;
    d.socketGroups = pinned ? [pinned] : undefined;
    d.dieGroups = undefined;
  }
  const { sockets, dies, threads, cores } = d;
  d.reasons.push(
    `cores=${cores}: ${vcpus} vCPUs / (${sockets} socket${sockets > 1 ? 's' : ''} x ${dies} die${dies > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''})`,
  );
}

// ---- maxcpus / hotplug ---------------------------------------------------------------------
function planHotplug(input: Inputs, d: Draft): void {
  const { vcpus, maxcpus, os, req } = input;
  const { sockets, dies, cores, threads, reasons, warnings } = d;
  const maxSockets = osMaxSockets(os);
  d.maxSockets = sockets;
  d.maxDies = dies;
  d.maxCores = cores;
  if (maxcpus <= vcpus) return;
  const extra = maxcpus - vcpus;
  const perSocket = vcpus / sockets;
  const perDie = perSocket / dies;
  if (sockets > 1 || req.hotplugUnit === 'socket') {
    if (extra % perSocket !== 0 || maxcpus / perSocket > maxSockets) {
      const valid: number[] = [];
      for (let s = sockets + 1; s <= Math.min(maxSockets, sockets + 3); s++) valid.push(s * perSocket);
      throw new KvcpuError(
        'E_MAX_LAYOUT',
        `--max ${maxcpus} cannot be reached by adding whole ${perSocket}-vCPU sockets to this ${sockets}-socket guest${maxSockets < Infinity ? ` (${os}: max ${maxSockets} sockets)` : ''}`,
        {
          hint: valid.length ? `use --max ${valid.join(' or ')}` : `this guest cannot grow; drop --max or use fewer sockets`,
        },
      );
    }
    d.maxSockets = maxcpus / perSocket;
    d.hotplug = { level: 'socket', vcpusPerStep: perSocket, steps: d.maxSockets - sockets };
    reasons.push(
      `maxcpus=${maxcpus}: ${plural(d.maxSockets - sockets, 'hot-pluggable socket')} of ${perSocket} vCPUs (${sockets > 1 ? 'present vCPUs fill sockets in order, so whole sockets keep the present ones intact' : 'the consumer hot-plugs whole sockets'})`,
    );
    if (d.numa.length) warnings.push('hot-plugged sockets need a guest NUMA node too (-numa cpu,node-id=N,socket-id=S; --format qemu adds them)');
  } else if (dies > 1) {
    if (extra % perDie !== 0) {
      throw new KvcpuError('E_MAX_LAYOUT', `--max ${maxcpus} cannot be reached by adding whole ${perDie}-vCPU dies`, {
        hint: `use --max ${vcpus + perDie} or another multiple of ${perDie} above ${vcpus}`,
      });
    }
    d.maxDies = maxcpus / perDie;
    d.hotplug = { level: 'die', vcpusPerStep: perDie, steps: d.maxDies - dies };
    reasons.push(`maxcpus=${maxcpus}: ${plural(d.maxDies - dies, 'hot-pluggable die')} of ${perDie} vCPUs, keeping the present dies whole`);
  } else {
    if (extra % threads !== 0) {
      throw new KvcpuError('E_MAX_LAYOUT', `--max ${maxcpus} is not a whole number of ${threads}-thread cores`, {
        hint: `use a multiple of ${threads}, e.g. --max ${vcpus + threads}`,
      });
    }
    d.maxCores = maxcpus / threads;
    d.hotplug = { level: 'core', vcpusPerStep: threads, steps: d.maxCores - cores };
    reasons.push(
      `maxcpus=${maxcpus}: one socket with ${d.maxCores} cores, ${plural(d.maxCores - cores, 'hot-pluggable core')}${threads > 1 ? ` (plug all ${threads} threads of a core together)` : ''}`,
    );
  }
  if (os === 'windows-10' || os === 'windows-11')
    warnings.push(`${os}: Windows client editions cannot hot-add CPUs; the extra slots stay empty until a reboot`);
}

// The reasons above speak of the present vCPUs; where hot-plug slots grew a level, say the
// level's final value (what the topology and -smp show) and how it splits.
function relabelGrownLevels(d: Draft): void {
  const { reasons } = d;
  const grown = [
    ['sockets', d.sockets, d.maxSockets],
    ['dies', d.dies, d.maxDies],
    ['cores', d.cores, d.maxCores],
  ] as const;
  for (const [level, present, total] of grown) {
    if (total === present) continue;
    const i = reasons.findIndex((r) => r.startsWith(`${level}=${present}:`));
    const text = `${level}=${total} (${present} with the present vCPUs + ${total - present} hot-pluggable)`;
    if (i >= 0) reasons[i] = text + reasons[i]!.slice(`${level}=${present}`.length);
    else reasons.push(`${text}: see maxcpus`);
  }
}

// Validate with the -smp model of the target machine: the plan must be what QEMU accepts.
function validateTopology(input: Inputs, d: Draft): { topology: GuestTopology; check: Extract<SmpResult, { ok: true }> } {
  const { vcpus, maxcpus, machine, req } = input;
  const { threads, warnings } = d;
  const topology: GuestTopology = {
    drawers: 1,
    books: 1,
    sockets: d.maxSockets,
    dies: d.maxDies,
    clusters: 1,
    cores: d.maxCores,
    threads,
    cpus: vcpus,
    maxcpus,
  };
  const spec = `cpus=${vcpus},maxcpus=${maxcpus},sockets=${topology.sockets}${machine.supports.dies ? `,dies=${topology.dies}` : ''},cores=${topology.cores},threads=${threads}`;
  // The machine as asked (with its properties: virt,gic-version=3 lifts GICv2's 8-CPU limit).
  const check = parseSmp(spec, { machine: req.machine ?? machine.name, qemuVersion: req.qemuVersion });
  if (!check.ok) {
    throw new KvcpuError(check.error.code, `the suggested -smp ${spec} is refused for ${machine.name}: ${check.error.message}`, {
      hint:
        check.error.code === 'E_SMP_TOO_MANY_CPUS'
          ? `machine ${machine.name} allows at most ${machine.maxCpus} vCPUs: lower --max/--vcpus or pick a newer machine type`
          : 'report this to kvcpu',
    });
  }
  for (const k of ['sockets', 'dies', 'cores', 'threads', 'cpus', 'maxcpus'] as const) {
    if (check.topology[k] !== topology[k]) throw new KvcpuError('E_INTERNAL', `parseSmp read ${k}=${check.topology[k]} from ${spec}, expected ${topology[k]}`);
  }
  warnings.push(...check.warnings);
  if (threads > 1) {
    // Seen on QEMU 7.2 (notes/qemu-on-these-machines.md §3): AMD-vendor models warn
    // "This family of AMD CPU doesn't support hyperthreading" and the guest sees no siblings.
    warnings.push(
      `threads=${threads}: QEMU's AMD-family CPU models (qemu64, EPYC) hide SMT from the guest; use -cpu host or an Intel-vendor model (e.g. qemu64,vendor=GenuineIntel)`,
    );
  }
  return { topology, check };
}

// ---- pinning order: vCPU index order is socket, die, core, thread ----------------------
function pinOrder(input: Inputs, d: Draft): TopologySuggestion['pin'] {
  const { socketGroups, dieGroups } = d;
  if (!socketGroups) return null;
  const dieLists = dieGroups ?? socketGroups.map((g) => [g]);
  const order: number[] = [];
  for (const socket of dieLists) {
    for (const die of socket) {
      const byCore = [
        ...groupBy(
          [...die].sort((a, b) => a - b),
          input.coreKey,
        ).entries(),
      ].sort((a, b) => a[0] - b[0]);
      // threads=1: one vCPU per host CPU; siblings of one host core still land on adjacent vCPUs.
      for (const [, members] of byCore) order.push(...members);
    }
  }
  const pin = order.map((hostCpu, vcpu) => ({ vcpu, hostCpu }));
  // --cpus is a set (a cpulist, as for cpuset and `taskset -c`): which vCPU goes where follows
  // from the topology (vCPU index order is socket, die, core, thread), so that guest cores,
  // dies and sockets are host ones. The written order cannot carry that (`4-7,68-71` with
  // 4/68 siblings must become 4,68,5,69,...): say so when the user wrote another order.
  const written = input.req.cpus!;
  if (written.some((c, i) => c !== order[i])) {
    d.warnings.push(
      `--cpus is a set of host CPUs, not a vCPU order: vCPUs are pinned in topology order (${pin.map((x) => `${x.vcpu}:${x.hostCpu}`).join(' ')}), not in the order written (${written.join(',')})`,
    );
  }
  return pin;
}
