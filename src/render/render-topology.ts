import { KvcpuError, isKvcpuError } from '../core/errors.ts';
import { formatSmp, levelOf, productOf } from '../smp/format-smp.ts';
import { DEFAULT_QEMU_VERSION, parseQemuVersion, resolveMachine } from '../smp/qemu-machines.ts';
import type { GuestTopology } from '../smp/types.ts';
import { TOPOLOGY_LEVELS } from '../smp/types.ts';
import { note, type RenderCell, type RenderContext, type RenderedTopology } from './render-helpers.ts';
import { renderKubevirt } from './render-kubevirt.ts';
import { renderLibvirt } from './render-libvirt.ts';
import { renderNova, renderNovaJson } from './render-nova.ts';
import { renderProxmox } from './render-proxmox.ts';
import { renderQemu } from './render-qemu.ts';

export type { RenderCell, RenderContext, RenderedTopology, RenderNote, RenderPin } from './render-helpers.ts';

import { CONSUMER_FORMATS, TOPOLOGY_FORMATS, type ConsumerFormat, type TopologyFormat } from './topology-formats.ts';

export { CONSUMER_FORMATS, TOPOLOGY_FORMATS, type ConsumerFormat, type TopologyFormat } from './topology-formats.ts';

export interface RenderCellInput {
  /** Guest vCPU ids of the cell (present ones at least; hot-pluggable ones are assigned when missing). */
  vcpus: number[];
  memoryMiB?: number;
  hostNode?: number | null;
}

export interface RenderOptions {
  /** QEMU machine type (aliases ok); default q35 (pc-q35-7.2 on 7.2). Decides which levels exist. */
  machine?: string;
  /** Guest/VM name (libvirt `<name>`, KubeVirt `metadata.name`); default `guest`. */
  name?: string;
  /** QEMU version the machine belongs to; default 7.2. */
  qemuVersion?: string;
  /** Guest RAM in MiB (default 1024, or the cells' sum). */
  memoryMiB?: number;
  /** Guest NUMA cells (none: one node). */
  cells?: RenderCellInput[];
  /** vCPU → host CPUs when the plan pins. */
  pins?: { vcpu: number; cpus: number[] }[] | null;
  emulator?: number[] | null;
  /** Pinned 1:1 (default: every pin is one CPU and every present vCPU is pinned). */
  dedicated?: boolean;
  threadPolicy?: 'prefer' | 'require' | 'isolate';
  isolateEmulator?: boolean;
  /** libvirt version the domain XML targets (MAJOR.MINOR); default 9.0 (Debian 12). */
  libvirtVersion?: string;
  /** Host logical CPU count (Proxmox vCPU cap). */
  hostCpus?: number | null;
  /** IOThreads with their host CPUs. */
  iothreads?: { cpus: number[] }[];
  /** Mixed policy: the dedicated vCPUs (the rest float). */
  mixedDedicated?: number[] | null;
}

export const DEFAULT_LIBVIRT_VERSION = '9.0';

/** Throw unless `t` is a topology QEMU could hold (every level >= 1, product = maxcpus, cpus <= maxcpus). */
export function assertTopology(t: GuestTopology): void {
  for (const k of [...TOPOLOGY_LEVELS, 'cpus', 'maxcpus'] as const) {
    const v = k === 'modules' ? (t.modules ?? 1) : t[k];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new KvcpuError('E_BAD_INPUT', `topology ${k} must be a positive integer, got ${String(v)}`, {
        hint: 'render a topology returned by parseSmp or topology suggest',
      });
    }
  }
  if (productOf(t) !== t.maxcpus) {
    throw new KvcpuError('E_BAD_INPUT', `topology product ${productOf(t)} does not match maxcpus ${t.maxcpus}`, {
      hint: 'drawers*books*sockets*dies*clusters*modules*cores*threads must equal maxcpus',
    });
  }
  if (t.cpus > t.maxcpus) {
    throw new KvcpuError('E_BAD_INPUT', `topology cpus ${t.cpus} exceeds maxcpus ${t.maxcpus}`, {
      hint: 'cpus are the vCPUs present at boot, maxcpus all possible ones',
    });
  }
}

function parseLibvirtVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(v.trim());
  if (!m) throw new KvcpuError('E_BAD_INPUT', `not a libvirt version: ${v}`, { hint: 'use MAJOR.MINOR, e.g. 9.0 (Debian 12) or 10.1' });
  return [Number(m[1]), Number(m[2])];
}

/**
 * Complete the plan's guest NUMA cells: every possible vCPU (0..maxcpus-1) belongs to one cell.
 * Hot-pluggable vCPUs missing from the cells follow QEMU's own advice (7.2 warns "CPU(s) not
 * present in any NUMA nodes"): a vCPU in a partly present socket joins the cell of that socket's
 * present vCPUs; whole hot-pluggable dies/sockets go round-robin over the cells, as
 * numa-qemu-args.ts does for `-numa cpu,socket-id=`. Memory is split evenly in MiB (the last
 * cell takes the remainder) unless the plan says otherwise.
 */
function completeCells(t: GuestTopology, input: RenderCellInput[], memoryMiB: number): RenderCell[] {
  if (input.length === 0) return [];
  const cellOf = new Map<number, number>();
  input.forEach((c, i) => {
    for (const v of c.vcpus) {
      if (!Number.isSafeInteger(v) || v < 0 || v >= t.maxcpus)
        throw new KvcpuError('E_BAD_INPUT', `NUMA cell ${i} lists vCPU ${v}, outside 0-${t.maxcpus - 1}`, { hint: 'cells hold guest vCPU ids' });
      if (cellOf.has(v)) throw new KvcpuError('E_BAD_INPUT', `vCPU ${v} is in two NUMA cells`, { hint: 'each vCPU belongs to one guest NUMA cell' });
      cellOf.set(v, i);
    }
  });
  const perSocket = t.maxcpus / (t.drawers * t.books * t.sockets);
  const perDie = perSocket / t.dies;
  const vcpus = input.map((c) => [...c.vcpus]);
  for (let v = 0; v < t.maxcpus; v++) {
    if (cellOf.has(v)) continue;
    const socket = Math.floor(v / perSocket);
    let cell: number | undefined;
    for (let u = socket * perSocket; u < (socket + 1) * perSocket; u++) if (cellOf.has(u)) cell = cellOf.get(u);
    if (cell === undefined) cell = Math.floor(v / perDie) % input.length;
    cellOf.set(v, cell);
    vcpus[cell]!.push(v);
  }
  const given = input.every((c) => c.memoryMiB !== undefined);
  const per = Math.floor(memoryMiB / input.length);
  return input.map((c, i) => ({
    id: i,
    vcpus: vcpus[i]!.sort((a, b) => a - b),
    memoryMiB: given ? c.memoryMiB! : i === input.length - 1 ? memoryMiB - per * (input.length - 1) : per,
    hostNode: c.hostNode ?? null,
  }));
}

export function renderContext(t: GuestTopology, opts: RenderOptions = {}): RenderContext {
  assertTopology(t);
  const version = parseQemuVersion(opts.qemuVersion ?? DEFAULT_QEMU_VERSION);
  if (!version) throw new KvcpuError('E_BAD_INPUT', `not a QEMU version: ${opts.qemuVersion}`, { hint: 'use MAJOR.MINOR, e.g. 7.2' });
  const machine = resolveMachine(opts.machine ?? 'q35', version);
  if ('code' in machine) {
    throw new KvcpuError('E_SMP_MACHINE_UNKNOWN', `unsupported machine type '${opts.machine}'`, { hint: 'use e.g. q35, pc, pc-q35-7.2, microvm' });
  }
  const cellsIn = opts.cells ?? [];
  const cellSum = cellsIn.length && cellsIn.every((c) => c.memoryMiB !== undefined) ? cellsIn.reduce((a, c) => a + c.memoryMiB!, 0) : undefined;
  const memoryMiB = opts.memoryMiB ?? cellSum ?? 1024;
  if (!Number.isSafeInteger(memoryMiB) || memoryMiB < 1)
    throw new KvcpuError('E_BAD_INPUT', `guest memory must be a positive number of MiB, got ${memoryMiB}`, { hint: 'e.g. --memory 2048' });
  if (cellSum !== undefined && cellSum !== memoryMiB) {
    throw new KvcpuError('E_BAD_INPUT', `NUMA cells hold ${cellSum} MiB but the guest has ${memoryMiB} MiB`, {
      hint: 'the cells split the guest memory: their sum must equal it',
    });
  }
  if (cellsIn.length > memoryMiB)
    throw new KvcpuError('E_BAD_INPUT', `${memoryMiB} MiB cannot be split over ${cellsIn.length} NUMA cells`, {
      hint: 'give each guest NUMA cell at least 1 MiB',
    });
  const pins = opts.pins && opts.pins.length ? opts.pins.map((p) => ({ vcpu: p.vcpu, cpus: [...p.cpus].sort((a, b) => a - b) })) : null;
  for (const p of pins ?? []) {
    if (!Number.isSafeInteger(p.vcpu) || p.vcpu < 0 || p.vcpu >= t.maxcpus || p.cpus.length === 0) {
      throw new KvcpuError('E_BAD_INPUT', `pin for vCPU ${p.vcpu} is not a vCPU of this guest or has no host CPU`, {
        hint: 'pins map vCPU ids 0..maxcpus-1 to host CPUs',
      });
    }
  }
  const dedicated = opts.dedicated ?? (pins !== null && pins.every((p) => p.cpus.length === 1) && pins.filter((p) => p.vcpu < t.cpus).length === t.cpus);
  const c: RenderContext = {
    t,
    machine,
    name: opts.name ?? 'guest',
    smp: formatSmp(t, machine),
    warnings: [],
    notes: [],
    memoryMiB,
    cells: completeCells(t, cellsIn, memoryMiB),
    pins,
    emulator: opts.emulator && opts.emulator.length ? [...opts.emulator].sort((a, b) => a - b) : null,
    dedicated,
    // Guest SMT siblings only hold when they sit on host siblings: a pinned plan with threads > 1 requires them.
    threadPolicy: opts.threadPolicy ?? (t.threads > 1 ? 'require' : 'prefer'),
    isolateEmulator: opts.isolateEmulator ?? false,
    libvirtVersion: parseLibvirtVersion(opts.libvirtVersion ?? DEFAULT_LIBVIRT_VERSION),
    hostCpus: opts.hostCpus ?? null,
    iothreads: opts.iothreads ?? [],
    mixedDedicated: opts.mixedDedicated && opts.mixedDedicated.length ? [...opts.mixedDedicated] : null,
  };
  for (const level of TOPOLOGY_LEVELS) {
    if (level === 'sockets' || level === 'cores' || level === 'threads') continue;
    if (levelOf(t, level) > 1 && !machine.supports[level]) {
      note(c, 'W_MACHINE_LEVEL', `${level}=${levelOf(t, level)}: machine ${machine.name} has no ${level} level; QEMU will refuse this topology`);
    }
  }
  if (t.maxcpus > machine.maxCpus) note(c, 'W_MACHINE_MAXCPUS', `maxcpus ${t.maxcpus} exceeds machine ${machine.name}'s limit of ${machine.maxCpus}`);
  return c;
}

/** The plan the renderings carry, as plain data (`--format json`). */
export function planJson(c: RenderContext): Record<string, unknown> {
  return {
    name: c.name,
    topology: { ...c.t, modules: c.t.modules ?? 1 },
    machine: c.machine.name,
    arch: c.machine.arch,
    smp: c.smp,
    memoryMiB: c.memoryMiB,
    cells: c.cells,
    pins: c.pins,
    emulator: c.emulator,
    dedicated: c.dedicated,
    threadPolicy: c.threadPolicy,
    isolateEmulator: c.isolateEmulator,
    libvirtVersion: c.libvirtVersion.join('.'),
    hostCpus: c.hostCpus,
    iothreads: c.iothreads,
    mixedDedicated: c.mixedDedicated,
  };
}

function renderConsumer(c: RenderContext, format: ConsumerFormat, explicitMachine: boolean): RenderedTopology {
  switch (format) {
    case 'qemu':
      return renderQemu(c, explicitMachine);
    case 'libvirt':
      return renderLibvirt(c);
    case 'kubevirt':
      return renderKubevirt(c);
    case 'nova':
      return renderNova(c);
    case 'nova-json':
      return renderNovaJson(c);
    case 'proxmox':
      return renderProxmox(c);
  }
}

/**
 * Every consumer's rendering of one plan, as one JSON document: `{kind, version, plan,
 * renderings: {qemu: {text, warnings}|{error}, ...}}`. A consumer that refuses the plan gets
 * `{error: {code, message, hint}}` there instead of a document.
 */
export function renderAllJson(c: RenderContext, explicitMachine: boolean): Record<string, unknown> {
  const renderings: Record<string, unknown> = {};
  for (const f of CONSUMER_FORMATS) {
    try {
      const r = renderConsumer(c, f, explicitMachine);
      renderings[f] = { text: r.text, warnings: r.notes ?? [] };
    } catch (e) {
      if (!isKvcpuError(e)) throw e;
      renderings[f] = { error: e.toJSON() };
    }
  }
  return { kind: 'kvcpu-rendering', version: 1, plan: planJson(c), renderings, warnings: c.notes };
}

/** Render a guest topology with its warnings (see renderTopology). */
export function renderTopologyDetailed(t: GuestTopology, format: TopologyFormat, opts: RenderOptions = {}): RenderedTopology {
  const c = renderContext(t, opts);
  if (format === 'json') {
    return { text: JSON.stringify(renderAllJson(c, opts.machine !== undefined), null, 2) + '\n', warnings: c.warnings, notes: c.notes };
  }
  if (!(CONSUMER_FORMATS as readonly string[]).includes(format)) {
    throw new KvcpuError('E_USAGE', `unknown format '${String(format)}'`, { hint: `use one of ${TOPOLOGY_FORMATS.join(', ')}` });
  }
  return renderConsumer(c, format as ConsumerFormat, opts.machine !== undefined);
}

/**
 * Render one guest plan for a consumer: QEMU args, a libvirt domain, a KubeVirt VMI,
 * Nova flavor extra specs (openstack commands or JSON), a Proxmox qm.conf, or JSON with all of them. Whatever the format cannot express is
 * said in comments (`# warning: ...` / `<!-- warning: ... -->`), never dropped silently.
 */
export function renderTopology(t: GuestTopology, format: TopologyFormat, opts: RenderOptions = {}): string {
  return renderTopologyDetailed(t, format, opts).text;
}
