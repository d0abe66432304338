/**
 * `kvcpu/host`: Host: read /proc + /sys under a root into a HostSnapshot, capture a tree, render like lscpu.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { readHost, readHostTraced } from './read-host.ts';
export type { ReadHostOptions } from './read-host.ts';
export { captureHost } from './capture-host.ts';
export type { CaptureOptions, CaptureInfo } from './capture-host.ts';
export { buildHostSnapshot } from './build-snapshot.ts';
export { parseCpuinfo, cpuinfoField } from './parse-cpuinfo.ts';
export type { Cpuinfo, CpuinfoRecord } from './parse-cpuinfo.ts';
export { identifyCpu, inferArch } from './cpu-identity.ts';
export { renderHost, renderHostSummary, renderHostTable } from './render-host.ts';
export { collectHostSection } from './report-section.ts';
export type { HostSnapshot, HostCpuSets, HostCpuIdentity, HostTopology, NumaNode, PerCpuRow } from './types.ts';
