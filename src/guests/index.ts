/**
 * `kvcpu/guests`: Guests: find running QEMU guests in /proc, pin/unpin their threads, overcommit, hotplug, launch.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { snapshotGuests } from './snapshot-guests.ts';
export type { SnapshotOptions } from './snapshot-guests.ts';
export { listQemuProcesses, readProcThreads } from './scan-proc.ts';
export type { QemuProcessEntry } from './scan-proc.ts';
export { parseQemuCmdline, parseSmpCounts, parseMemoryMiB } from './parse-qemu-cmdline.ts';
export { parseProcStat, parseProcStatus, parseSchedstat } from './parse-proc-files.ts';
export type { ProcStat, ProcStatus } from './parse-proc-files.ts';
export { classifyThread } from './classify-thread.ts';
export { findGuest } from './find-guest.ts';
export { pinGuests, unpinGuest, jobsFromPlan, describeCommands } from './pin-guests.ts';
export type { PinJob, PinOptions, PinOutcome, UnpinOutcome } from './pin-guests.ts';
export { buildPinRequests, parseAssignments, validatePinRequests } from './build-pin-requests.ts';
export type { GuestPinSpec, PinRequest } from './build-pin-requests.ts';
export { assessOvercommit, DEFAULT_OVERCOMMIT_RATIO } from './assess-overcommit.ts';
export type { OvercommitCheck, OvercommitReport } from './assess-overcommit.ts';
export { computeTopRows } from './top-rates.ts';
export type { TopRow } from './top-rates.ts';
export { hotplugVcpus } from './hotplug-vcpus.ts';
export type { HotplugOutcome } from './hotplug-vcpus.ts';
export { launchGuest, buildLaunchArgs, checkGuestName } from './launch-guest.ts';
export type { LaunchOptions, LaunchedGuest } from './launch-guest.ts';
export { stopGuest } from './stop-guest.ts';
export { queryVcpuTids } from './qmp-vcpu-tids.ts';
export { readLibvirtVcpuTids } from './read-libvirt-status.ts';
export { renderPsTable, renderTopTable, renderOvercommit } from './render-guests.ts';
export { psJson } from './ps-json.ts';
export { collectGuestsSection, collectOvercommitSection } from './report-section.ts';
export type { GuestSnapshot, GuestProcess, GuestThread, ThreadRole, QemuConfig, VcpuSource } from './types.ts';
