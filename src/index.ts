/**
 * kvcpu as a library (package.json `exports["."]`). A curated list of the public, typed API of
 * every capability: pure core (plain data in, plain data out), the I/O readers (they take a
 * `root` prefix so a captured tree and the live host run the same code) and the app-level
 * functions the CLI is built from. CLI modules and test helpers are deliberately not exported.
 * Names that two capabilities share are re-exported under a prefixed alias (see cpu-baseline).
 */

// Core: the one error type (stable codes, exit statuses) and kernel cpulist/cpumask helpers.
export { KvcpuError, isKvcpuError, EXIT_OK, EXIT_FINDINGS, EXIT_ERROR } from './core/errors.ts';
export type { ErrorCode, KvcpuErrorOptions } from './core/errors.ts';
export { parseCpulist, formatCpulist, parseCpumask } from './core/cpulist.ts';

// Native addon (sched_{get,set}affinity, KVM probe); null when the addon is not built.
export { loadNative } from './io/native.ts';
export type { NativeAddon, KvmProbeResult } from './io/native.ts';

// Host: read /proc + /sys under a root into a HostSnapshot, capture a tree, render like lscpu.
export { readHost, readHostTraced } from './host/read-host.ts';
export type { ReadHostOptions } from './host/read-host.ts';
export { captureHost } from './host/capture-host.ts';
export type { CaptureOptions, CaptureInfo } from './host/capture-host.ts';
export { buildHostSnapshot } from './host/build-snapshot.ts';
export { parseCpuinfo, cpuinfoField } from './host/parse-cpuinfo.ts';
export type { Cpuinfo, CpuinfoRecord } from './host/parse-cpuinfo.ts';
export { identifyCpu, inferArch } from './host/cpu-identity.ts';
export { renderHost, renderHostSummary, renderHostTable } from './host/render-host.ts';
export { collectHostSection } from './host/report-section.ts';
export type { HostSnapshot, HostCpuSets, HostCpuIdentity, HostTopology, NumaNode, PerCpuRow } from './host/types.ts';

// Check: virtualization readiness checks (KVM, VT-x/AMD-V, IOMMU, SMP) as PASS/WARN/FAIL values.
export { gatherCheckFacts, readCheckTree } from './check/gather-check-facts.ts';
export type { GatherCheckFactsOptions } from './check/gather-check-facts.ts';
export { runChecks, countStatuses, hostFactsFrom } from './check/run-checks.ts';
export { renderChecks, checksJson } from './check/render-checks.ts';
export { parseKernelCmdline, readCmdlineCpus } from './check/parse-kernel-cmdline.ts';
export type { KernelCmdline, CmdlineCpus } from './check/parse-kernel-cmdline.ts';
export { kvmUsable, probeKvm, probeKvmCached, probeKvmWithQemu } from './check/probe-kvm.ts';
export type { ProbeKvmOptions } from './check/probe-kvm.ts';
export { readKernelLog } from './check/read-kernel-log.ts';
export { collectCheckSection } from './check/report-section.ts';
export type { Check, CheckStatus, CheckFacts, CheckHostFacts } from './check/types.ts';

// SMP: QEMU -smp parsing/validation exactly as QEMU does it (errors are values: SmpResult).
export { parseSmp, smpMembers, smpHelpText } from './smp/parse-smp.ts';
export type { ParseSmpOptions } from './smp/parse-smp.ts';
export { formatSmp } from './smp/format-smp.ts';
export { enumerateSlots, apicIdLimit } from './smp/cpu-slots.ts';
export type { CpuSlot } from './smp/cpu-slots.ts';
export {
  resolveMachine,
  knownMachines,
  parseQemuVersion,
  DEFAULT_MACHINE,
  DEFAULT_QEMU_VERSION,
  MODELLED_QEMU_VERSIONS,
} from './smp/qemu-machines.ts';
export type { MachineInfo, MachineFamily, QemuVersion } from './smp/qemu-machines.ts';
export { askQemuSmp, compareWithQemu } from './smp/verify-smp.ts';
export type { QemuSmpAnswer, AskQemuOptions } from './smp/verify-smp.ts';
export { generateSmpCases } from './smp/generate-smp-cases.ts';
export type { SmpCase } from './smp/generate-smp-cases.ts';
export { SMP_MEMBERS, TOPOLOGY_LEVELS } from './smp/types.ts';
export type { GuestTopology, SmpMember, TopologyLevel, SmpErrorCode, SmpError, SmpFill, SmpResult } from './smp/types.ts';

// Render: one guest topology as QEMU args, libvirt XML, KubeVirt, Nova extra specs, Proxmox.
export { renderTopology, renderTopologyDetailed, assertTopology, TOPOLOGY_FORMATS } from './render/render-topology.ts';
export type { TopologyFormat, RenderOptions } from './render/render-topology.ts';
export { renderLibvirt } from './render/render-libvirt.ts';
export { renderKubevirt } from './render/render-kubevirt.ts';
export { renderNova } from './render/render-nova.ts';
export { renderProxmox } from './render/render-proxmox.ts';
export type { RenderedTopology } from './render/render-helpers.ts';

// Topology: suggest a guest topology for a host, and Nova's hw:cpu_* topology algorithm.
export { suggestTopology, GUEST_OSES } from './topology/suggest-topology.ts';
export type { GuestOs, SuggestTopologyRequest, SuggestedNumaNode, TopologySuggestion } from './topology/suggest-topology.ts';
export {
  getNovaConstraints,
  getNovaPossibleTopologies,
  sortNovaTopologies,
  chooseNovaTopology,
  novaTopologyWarnings,
  ImagePropertyError,
  NOVA_NO_LIMIT,
} from './topology/nova-topology.ts';
export type { Sct, NovaTopologyRequest, NovaConstraints, NovaTopologyError } from './topology/nova-topology.ts';
export { numaQemuArgs } from './topology/numa-qemu-args.ts';

// CPU models: QEMU's x86 model catalog, -cpu strings, feature names, runnability, x86-64 levels.
export {
  catalogVersions,
  loadCatalog,
  resolveModel,
  tcgSupported,
  featureTable,
  toQemuName,
  toLibvirtName,
  toLinuxName,
  cpuinfoFlagsToQemu,
  predictCpuinfoFlags,
  modelRunnability,
  unavailableFeatures,
  kvmFeaturesFromCpuinfo,
  tcgFeatures,
  explainCpu,
  parseCpuString,
  x86Level,
  guestOsSupport,
  X86_LEVELS,
  adviseFeatures,
  loadLiveCatalog,
  defaultAccel,
  installedQemuVersion,
} from './cpu-models/index.ts';
export type {
  Accel,
  CatalogModel,
  QemuCatalog,
  FeatureRow,
  FeatureTable,
  ResolvedModel,
  Vocabulary,
  AccelFeatures,
  ModelRunnability,
  CpuExplanation,
  ParsedCpuString,
  LevelResult,
  FeatureAdvice,
} from './cpu-models/index.ts';
export { listModels } from './cpu-models/catalog.ts';
export { readPoolHost, parsePoolHost } from './cpu-models/read-pool-host.ts';
export { collectModelsSection } from './cpu-models/report-section.ts';
export type { PoolHostFeatures } from './cpu-models/read-pool-host.ts';

// CPU baseline: libvirt cpu_map based baseline/compare across hosts, migration pools.
export { baselineCpus } from './cpu-baseline/baseline-cpus.ts';
export type { BaselineOptions, BaselineCpu, BaselineResult, HypervisorContext } from './cpu-baseline/baseline-cpus.ts';
export { compareCpu } from './cpu-baseline/compare-cpu.ts';
export type { CompareVerdict, CompareResult } from './cpu-baseline/compare-cpu.ts';
export { planPools } from './cpu-baseline/plan-pools.ts';
export type { PoolsOptions, Pool, PoolsPlan } from './cpu-baseline/plan-pools.ts';
export { explainBaseline, renderExplanation } from './cpu-baseline/explain-baseline.ts';
export type { BaselineExplanation } from './cpu-baseline/explain-baseline.ts';
export { parseCpuInput, parseCpuinfoCpu } from './cpu-baseline/parse-cpu-input.ts';
export { parseCpuXml } from './cpu-baseline/parse-cpu-xml.ts';
export { readCpuInputs, readLiveHostCpu } from './cpu-baseline/read-cpu-inputs.ts';
export { loadCpuMap, readInstalledCpuMap, readSnapshotCpuMap } from './cpu-baseline/read-cpu-map.ts';
export type { LoadCpuMapOptions } from './cpu-baseline/read-cpu-map.ts';
export { parseCpuMap } from './cpu-baseline/parse-cpu-map.ts';
export { indexCpuMap } from './cpu-baseline/x86-map.ts';
export type { X86Map, X86Model } from './cpu-baseline/x86-map.ts';
export { decodeCpu } from './cpu-baseline/decode-cpu.ts';
export type { DecodedCpu } from './cpu-baseline/decode-cpu.ts';
export { readHypervisorContext } from './cpu-baseline/read-hypervisor-context.ts';
export { libvirtToQemu, cpuinfoFlagsToLibvirt } from './cpu-baseline/feature-names.ts';
export {
  baselineJson,
  BASELINE_FORMATS,
  renderLibvirtXml as renderBaselineLibvirtXml,
  renderQemu as renderBaselineQemu,
  renderKubevirt as renderBaselineKubevirt,
  renderNova as renderBaselineNova,
} from './cpu-baseline/render-baseline.ts';
export type { BaselineFormat, BaselineJson } from './cpu-baseline/render-baseline.ts';
export type { CpuDef, CpuFeatureRef, FeaturePolicy } from './cpu-baseline/cpu-def.ts';
export type { LibvirtCpuMap } from './cpu-baseline/cpu-map-types.ts';

// Guests: find running QEMU guests in /proc, pin/unpin their threads, overcommit, hotplug, launch.
export { snapshotGuests } from './guests/snapshot-guests.ts';
export type { SnapshotOptions } from './guests/snapshot-guests.ts';
export { listQemuProcesses, readProcThreads } from './guests/scan-proc.ts';
export type { QemuProcessEntry } from './guests/scan-proc.ts';
export { parseQemuCmdline, parseSmpCounts, parseMemoryMiB } from './guests/parse-qemu-cmdline.ts';
export { parseProcStat, parseProcStatus, parseSchedstat } from './guests/parse-proc-files.ts';
export type { ProcStat, ProcStatus } from './guests/parse-proc-files.ts';
export { classifyThread } from './guests/classify-thread.ts';
export { findGuest } from './guests/find-guest.ts';
export { pinGuests, unpinGuest, jobsFromPlan, describeCommands } from './guests/pin-guests.ts';
export type { PinJob, PinOptions, PinOutcome, UnpinOutcome } from './guests/pin-guests.ts';
export { buildPinRequests, parseAssignments, validatePinRequests } from './guests/build-pin-requests.ts';
export type { GuestPinSpec, PinRequest } from './guests/build-pin-requests.ts';
export { assessOvercommit, DEFAULT_OVERCOMMIT_RATIO } from './guests/assess-overcommit.ts';
export type { OvercommitCheck, OvercommitReport } from './guests/assess-overcommit.ts';
export { computeTopRows } from './guests/top-rates.ts';
export type { TopRow } from './guests/top-rates.ts';
export { hotplugVcpus } from './guests/hotplug-vcpus.ts';
export type { HotplugOutcome } from './guests/hotplug-vcpus.ts';
export { launchGuest, buildLaunchArgs, checkGuestName } from './guests/launch-guest.ts';
export type { LaunchOptions, LaunchedGuest } from './guests/launch-guest.ts';
export { stopGuest } from './guests/stop-guest.ts';
export { queryVcpuTids } from './guests/qmp-vcpu-tids.ts';
export { readLibvirtVcpuTids } from './guests/read-libvirt-status.ts';
export { renderPsTable, renderTopTable, renderOvercommit } from './guests/render-guests.ts';
export { psJson } from './guests/ps-json.ts';
export { collectGuestsSection, collectOvercommitSection } from './guests/report-section.ts';
export type { GuestSnapshot, GuestProcess, GuestThread, ThreadRole, QemuConfig, VcpuSource } from './guests/types.ts';

// Plan: place guests on host CPUs (dedicated/shared, NUMA cells), pin plans, Nova NUMA fitting.
export { planGuests, planGuest, validateGuestRequest, hostAfter } from './plan/plan-guests.ts';
export { planFleet } from './plan/plan-fleet.ts';
export type { FleetPlacement, FleetResult } from './plan/plan-fleet.ts';
export { buildPlanHost, syntheticPlanHost } from './plan/build-plan-host.ts';
export type { HostSets } from './plan/build-plan-host.ts';
export { parseGuestSpec, guestsFromJson, guestFromRecord } from './plan/parse-guest-spec.ts';
export { checkGuestPlan, checkL3Kept } from './plan/check-plan.ts';
export type { GuestCheck } from './plan/check-plan.ts';
export { renderPlan, toPinPlanJson, PLAN_FORMATS } from './plan/render-plan.ts';
export type { PlanFormat } from './plan/render-plan.ts';
export { PinPlanSchema, PinPlanGuestSchema } from './plan/pin-plan.ts';
export type { PinPlan, PinPlanGuest } from './plan/pin-plan.ts';
export { DEFAULT_PLAN_OPTIONS } from './plan/plan-types.ts';
export type {
  CpuPolicy,
  ThreadPolicyName,
  PlanHost,
  GuestRequest,
  PlanOptions,
  PlannedVcpu,
  PlannedCell,
  GuestPlan,
  GuestPlanOk,
  GuestPlanRefused,
  PlanResult,
} from './plan/plan-types.ts';
export { parseNovaCase } from './plan/nova-case.ts';
export type { NovaCase, NovaAnswer, NovaHostCell, NovaInstance, NovaInstanceCell } from './plan/nova-case.ts';
export { fitNovaHost, answerNovaCase } from './plan/fit-nova-host.ts';
export type { FitHostOptions, FitHostResult } from './plan/fit-nova-host.ts';
export { checkNovaAnswer } from './plan/check-nova-answer.ts';
export { parseNovaUsageCase, answerNovaUsage } from './plan/nova-usage.ts';
export type { NovaUsageCase, NovaUsageAnswer } from './plan/nova-usage.ts';
export { getNovaNumaConstraints, parseNovaFlavorRequest, parseNovaCpuSpec } from './plan/nova-numa-constraints.ts';
export type { NovaFlavorRequest, NovaConstraintsAnswer } from './plan/nova-numa-constraints.ts';

// QMP and QEMU: a QMP client and a launcher that never leaves QEMU behind.
export { QmpClient } from './qmp/qmp-client.ts';
export type { QmpEvent, QmpGreeting } from './qmp/qmp-client.ts';
export { startQemu, qemuAvailable } from './qmp/start-qemu.ts';
export { qemuVersion } from './qmp/qemu-env.ts';
export type { QemuProcess, StartQemuOptions } from './qmp/start-qemu.ts';

// Report: gather every capability's section into one document (`kvcpu report`).
export { collectReport } from './report/collect-report.ts';
export type { Report, SectionCollector } from './report/collect-report.ts';
export type { ReportSection, ReportOptions } from './report/types.ts';
