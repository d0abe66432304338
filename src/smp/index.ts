/**
 * `kvcpu/smp`: SMP: QEMU -smp parsing/validation exactly as QEMU does it (errors are values: SmpResult).
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { parseSmp, smpMembers, smpHelpText } from './parse-smp.ts';
export type { ParseSmpOptions } from './parse-smp.ts';
export { formatSmp } from './format-smp.ts';
export { enumerateSlots, apicIdLimit } from './cpu-slots.ts';
export type { CpuSlot } from './cpu-slots.ts';
export { resolveMachine, knownMachines, parseQemuVersion, DEFAULT_MACHINE, DEFAULT_QEMU_VERSION, MODELLED_QEMU_VERSIONS } from './qemu-machines.ts';
export type { MachineInfo, MachineFamily, QemuVersion } from './qemu-machines.ts';
export { askQemuSmp, compareWithQemu } from './verify-smp.ts';
export type { QemuSmpAnswer, AskQemuOptions } from './verify-smp.ts';
export { SMP_MEMBERS, TOPOLOGY_LEVELS } from './types.ts';
export type { GuestTopology, SmpMember, TopologyLevel, SmpErrorCode, SmpError, SmpFill, SmpResult } from './types.ts';
