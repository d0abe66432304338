import type { GuestTopology } from '../smp/types.ts';
import type { MachineInfo } from '../smp/qemu-machines.ts';

/** Everything a renderer needs, resolved once. */
export interface RenderContext {
  t: GuestTopology;
  machine: MachineInfo;
  name: string;
  /** `-smp` value QEMU accepts for `t` on `machine`. */
  smp: string;
  /** What the format cannot express; each renderer adds its own and prints them as comments. */
  warnings: string[];
}

export interface RenderedTopology {
  text: string;
  /** Same warnings the text carries as comments (empty when the format expresses `t` exactly). */
  warnings: string[];
}

/** Warning lines as comments in a line-comment syntax. */
export function comments(prefix: string, warnings: string[]): string {
  return warnings.map((w) => `${prefix} warning: ${w}\n`).join('');
}

/** Fold every level between socket and thread into one "cores per socket" count (formats without dies/clusters/modules). */
export function coresPerSocket(t: GuestTopology): number {
  return t.dies * t.clusters * (t.modules ?? 1) * t.cores;
}

/** Fold drawers/books into sockets (formats without them). */
export function totalSockets(t: GuestTopology): number {
  return t.drawers * t.books * t.sockets;
}
