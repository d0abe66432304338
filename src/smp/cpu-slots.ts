import type { GuestTopology } from './types.ts';

/** One possible vCPU: its ids per level and x86 APIC ID (QEMU's numbering, notes §6). */
export interface CpuSlot {
  index: number;
  socket: number;
  die: number;
  module: number;
  core: number;
  thread: number;
  /** x86 APIC ID; meaningful only for x86 machines. */
  apicId: number;
  present: boolean;
}

/** Bits QEMU gives a level of `n` entries (include/hw/i386/topology.h apicid_bitwidth_for_count). */
export function bitWidth(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/**
 * Every possible vCPU in cpu-index order: thread fastest, then core, module, die, socket
 * (x86 x86_topo_ids_from_idx). The first `cpus` are present at start, the rest hot-pluggable.
 * APIC ID = socket|die|module|core|thread bit fields (x86_apicid_from_topo_ids).
 */
export function enumerateSlots(t: GuestTopology): CpuSlot[] {
  const modules = t.modules ?? 1;
  const perModule = t.cores;
  const wT = bitWidth(t.threads);
  const wC = bitWidth(perModule);
  const wM = bitWidth(modules);
  const wD = bitWidth(t.dies);
  const out: CpuSlot[] = [];
  for (let i = 0; i < t.maxcpus; i++) {
    const thread = i % t.threads;
    const core = Math.floor(i / t.threads) % t.cores;
    const module = Math.floor(i / (t.threads * t.cores)) % modules;
    const die = Math.floor(i / (t.threads * t.cores * modules)) % t.dies;
    // drawers/books/clusters do not exist on x86: fold them into the socket number.
    const socket = Math.floor(i / (t.threads * t.cores * modules * t.dies));
    const apicId = (((socket * 2 ** wD + die) * 2 ** wM + module) * 2 ** wC + core) * 2 ** wT + thread;
    out.push({ index: i, socket, die, module, core, thread, apicId, present: i < t.cpus });
  }
  return out;
}

/** APIC ID of the last possible vCPU + 1 (x86 apic_id_limit). */
export function apicIdLimit(t: GuestTopology): number {
  const modules = t.modules ?? 1;
  const s = t.maxcpus / (t.threads * t.cores * modules * t.dies) - 1;
  const wT = bitWidth(t.threads);
  const wC = bitWidth(t.cores);
  const wM = bitWidth(modules);
  const wD = bitWidth(t.dies);
  const last = (((s * 2 ** wD + (t.dies - 1)) * 2 ** wM + (modules - 1)) * 2 ** wC + (t.cores - 1)) * 2 ** wT + (t.threads - 1);
  return last + 1;
}
