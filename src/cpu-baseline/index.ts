/**
 * `kvcpu/cpu-baseline`: CPU baseline: libvirt cpu_map based baseline/compare across hosts, migration pools.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { baselineCpus } from './baseline-cpus.ts';
export type { BaselineOptions, BaselineCpu, BaselineResult, HypervisorContext } from './baseline-cpus.ts';
export { compareCpu } from './compare-cpu.ts';
export type { CompareVerdict, CompareResult } from './compare-cpu.ts';
export { planPools } from './plan-pools.ts';
export type { PoolsOptions, Pool, PoolsPlan } from './plan-pools.ts';
export { explainBaseline, renderExplanation } from './explain-baseline.ts';
export type { BaselineExplanation } from './explain-baseline.ts';
export { parseCpuInput, parseCpuinfoCpu } from './parse-cpu-input.ts';
export { parseCpuXml } from './parse-cpu-xml.ts';
export { readCpuInputs, readLiveHostCpu } from './read-cpu-inputs.ts';
export { loadCpuMap, readInstalledCpuMap, readSnapshotCpuMap } from './read-cpu-map.ts';
export type { LoadCpuMapOptions } from './read-cpu-map.ts';
export { parseCpuMap } from './parse-cpu-map.ts';
export { indexCpuMap } from './x86-map.ts';
export type { X86Map, X86Model } from './x86-map.ts';
export { decodeCpu } from './decode-cpu.ts';
export type { DecodedCpu } from './decode-cpu.ts';
export { readHypervisorContext } from './read-hypervisor-context.ts';
export { libvirtToQemu, cpuinfoFlagsToLibvirt } from './feature-names.ts';
export {
  baselineJson,
  BASELINE_FORMATS,
  renderLibvirtXml as renderBaselineLibvirtXml,
  renderQemu as renderBaselineQemu,
  renderKubevirt as renderBaselineKubevirt,
  renderNova as renderBaselineNova,
} from './render-baseline.ts';
export type { BaselineFormat, BaselineJson } from './render-baseline.ts';
export type { CpuDef, CpuFeatureRef, FeaturePolicy } from './cpu-def.ts';
export type { LibvirtCpuMap } from './cpu-map-types.ts';
