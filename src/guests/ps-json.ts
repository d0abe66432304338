import type { GuestSnapshot } from './types.ts';

/** The `kvcpu ps --json` shape: guests with every thread's role, vCPU, psr and affinity. */
export function psJson(snap: GuestSnapshot): unknown {
  return {
    guests: snap.guests.map((g) => ({
      pid: g.pid,
      name: g.name,
      startTime: g.startTime,
      accel: g.config.accel,
      tcgThread: g.config.tcgThread,
      cpuModel: g.config.cpuModel,
      smp: g.config.smp,
      vcpus: g.vcpuCount,
      vcpuCountFrom: g.vcpuCountFrom,
      maxCpus: g.config.maxCpus,
      memoryMiB: g.config.memoryMiB,
      vcpuSource: g.vcpuSource,
      libvirt: g.libvirt,
      qmpSockets: g.config.qmpSockets,
      threads: g.threads,
    })),
  };
}
