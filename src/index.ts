/**
 * kvcpu as a library (package.json `exports["."]`): the few functions most callers need, one
 * or two per question kvcpu answers. Each capability's full API is its own entry point
 * (`kvcpu/host`, `kvcpu/check`, `kvcpu/smp`, `kvcpu/topology`, `kvcpu/render`, `kvcpu/cpu-models`,
 * `kvcpu/cpu-baseline`, `kvcpu/guests`, `kvcpu/plan`, `kvcpu/qmp`, `kvcpu/report`). CLI modules
 * and test helpers are not exported.
 */

// Core: the one error type (stable codes, exit statuses) and kernel cpulist/cpumask helpers.
export { KvcpuError, isKvcpuError, EXIT_OK, EXIT_FINDINGS, EXIT_ERROR } from './core/errors.ts';
export type { ErrorCode, KvcpuErrorOptions } from './core/errors.ts';
export { parseCpulist, formatCpulist, parseCpumask } from './core/cpulist.ts';
export { kvcpuVersion } from './core/package-root.ts';

// What does this host have, and can it virtualize well?
export { readHost } from './host/read-host.ts';
export type { HostSnapshot } from './host/types.ts';
export { gatherCheckFacts } from './check/gather-check-facts.ts';
export { runChecks } from './check/run-checks.ts';
export type { Check, CheckStatus } from './check/types.ts';

// Which -smp does QEMU build, which topology should a guest get, rendered for each consumer?
export { parseSmp } from './smp/parse-smp.ts';
export { formatSmp } from './smp/format-smp.ts';
export type { GuestTopology, SmpResult } from './smp/types.ts';
export { suggestTopology } from './topology/suggest-topology.ts';
export type { SuggestTopologyRequest, TopologySuggestion } from './topology/suggest-topology.ts';
export { renderTopology, TOPOLOGY_FORMATS } from './render/render-topology.ts';
export type { TopologyFormat } from './render/render-topology.ts';

// Which CPU model, which baseline for a pool?
export { loadCatalog, explainCpu } from './cpu-models/index.ts';
export { baselineCpus } from './cpu-baseline/baseline-cpus.ts';
export { compareCpu } from './cpu-baseline/compare-cpu.ts';

// Where do the vCPUs run, where should they, how overcommitted is the host?
export { snapshotGuests } from './guests/snapshot-guests.ts';
export type { GuestSnapshot } from './guests/types.ts';
export { assessOvercommit } from './guests/assess-overcommit.ts';
export { planGuests } from './plan/plan-guests.ts';
export { buildPlanHost } from './plan/build-plan-host.ts';
export { parseGuestSpec } from './plan/parse-guest-spec.ts';
export type { GuestRequest, PlanHost, PlanResult } from './plan/plan-types.ts';

// Everything at once (`kvcpu report`).
export { buildReport, reportSections } from './app/report.ts';
export { ReportSchema, REPORT_SCHEMA_ID, reportJsonSchema } from './app/report-schema.ts';
export type { Report } from './app/report-schema.ts';
