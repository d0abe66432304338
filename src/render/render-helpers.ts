import type { GuestTopology } from '../smp/types.ts';
import type { MachineInfo } from '../smp/qemu-machines.ts';

/** One guest NUMA cell of the plan: its vCPUs (all possible ones, hot-pluggable included) and memory. */
export interface RenderCell {
  id: number;
  vcpus: number[];
  memoryMiB: number;
  /** Host node its memory is bound to (pinned plans), else null. */
  hostNode: number | null;
}

/** Where one vCPU runs: one host CPU (dedicated) or a set (floating within a node). */
export interface RenderPin {
  vcpu: number;
  cpus: number[];
}

/** Something a consumer cannot express exactly, with a stable code (`W_*`, docs/errors.md). */
export interface RenderNote {
  code: string;
  message: string;
}

/** Everything a renderer needs, resolved once: the plan every consumer must build. */
export interface RenderContext {
  t: GuestTopology;
  machine: MachineInfo;
  name: string;
  /** `-smp` value QEMU accepts for `t` on `machine`. */
  smp: string;
  /** What the format cannot express; each renderer adds its own and prints them as comments. */
  warnings: string[];
  /** Same as `warnings`, with codes (renderers push to both through `note`). */
  notes: RenderNote[];
  /** Guest RAM (MiB). */
  memoryMiB: number;
  /** Guest NUMA cells covering vCPUs 0..maxcpus-1 (empty: no guest NUMA topology). */
  cells: RenderCell[];
  /** vCPU → host CPUs when the plan rests on pinning, else null. */
  pins: RenderPin[] | null;
  /** Emulator threads' host CPUs, or null. */
  emulator: number[] | null;
  /** Every present vCPU has a host CPU of its own (Nova dedicated, KubeVirt dedicatedCpuPlacement). */
  dedicated: boolean;
  /** Nova's hw:cpu_thread_policy for dedicated vCPUs. */
  threadPolicy: 'prefer' | 'require' | 'isolate';
  /** Emulator threads on a CPU of their own (Nova isolate, KubeVirt isolateEmulatorThread). */
  isolateEmulator: boolean;
  /** libvirt version the domain XML is for ([major, minor]). */
  libvirtVersion: [number, number];
  /** Host logical CPUs (Proxmox caps a VM's vCPUs at the node's CPU count), null when unknown. */
  hostCpus: number | null;
  /** IOThreads and their host CPUs (libvirt `<iothreads>` + iothreadpin). */
  iothreads: { cpus: number[] }[];
  /** Mixed policy: the vCPUs that are dedicated (Nova hw:cpu_dedicated_mask), else null. */
  mixedDedicated: number[] | null;
}

export interface RenderedTopology {
  text: string;
  /** Same warnings the text carries as comments (empty when the format expresses `t` exactly). */
  warnings: string[];
  /** The warnings with their codes. */
  notes?: RenderNote[];
}

/** Record something the consumer cannot express (both as text and with its code). */
export function note(c: Pick<RenderContext, 'warnings' | 'notes'>, code: string, message: string): void {
  c.warnings.push(message);
  c.notes.push({ code, message });
}

/** A copy of the context whose warnings a renderer may extend without touching the caller's. */
export function forkContext(c: RenderContext): RenderContext {
  return { ...c, warnings: [...c.warnings], notes: [...c.notes] };
}

export function done(c: RenderContext, text: string): RenderedTopology {
  return { text, warnings: c.warnings, notes: c.notes };
}

/** Warning lines as comments in a line-comment syntax. */
export function comments(prefix: string, warnings: string[], notes?: RenderNote[]): string {
  return warnings.map((w, i) => `${prefix} warning: ${w}${notes?.[i] ? ` [${notes[i]!.code}]` : ''}\n`).join('');
}

/** Fold every level between socket and thread into one "cores per socket" count (formats without dies/clusters/modules). */
export function coresPerSocket(t: GuestTopology): number {
  return t.dies * t.clusters * (t.modules ?? 1) * t.cores;
}

/** Fold drawers/books into sockets (formats without them). */
export function totalSockets(t: GuestTopology): number {
  return t.drawers * t.books * t.sockets;
}

/** vCPUs per socket (every level below the socket). */
export function vcpusPerSocket(t: GuestTopology): number {
  return coresPerSocket(t) * t.threads;
}

/** Ranges joined by `sep` (Proxmox numaN cpus take `;`, QEMU repeats `cpus=`). */
export function ranges(ids: number[], sep = ','): string {
  const s = [...ids].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(sep);
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}
