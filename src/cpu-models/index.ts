/**
 * Public API of the CPU model capability (used by src/cpu-baseline and the CLI).
 * Data: QEMU's catalog (loadCatalog / loadLiveCatalog) and the feature-name table (featureTable).
 */
export type { Accel, CatalogModel, FeatureLocation, FeatureRow, FeatureTable, LinuxName, QemuCatalog } from './types.ts';
export { catalogVersions, loadCatalog, machineCpuVersionKind, resolveModel, tcgSupported, type ResolvedModel } from './catalog.ts';
export {
  canonicalQemuName,
  cpuinfoFlagsToQemu,
  featureTable,
  linuxInfo,
  predictCpuinfoFlags,
  rowsForQemu,
  toLibvirtName,
  toLinuxName,
  toQemuName,
  type Vocabulary,
} from './feature-names.ts';
export {
  kvmFeaturesFromCpuinfo,
  modelFeaturesFor,
  modelRunnability,
  tcgFeatures,
  unavailableFeatures,
  type AccelFeatures,
  type ModelRunnability,
} from './runnability.ts';
export { explainCpu, parseCpuString, suggestFeature, type CpuExplanation, type ParsedCpuString } from './cpu-string.ts';
export { GUEST_OS_LEVELS, guestOsSupport, X86_LEVELS, x86Level, type LevelResult } from './x86-levels.ts';
export { adviseFeatures, FEATURE_FAMILIES, type FeatureAdvice } from './feature-advice.ts';
export { accelFeatures, defaultAccel, installedQemuVersion, liveUnavailable, loadLiveCatalog } from './live-catalog.ts';

// Also public (package.json `exports["./cpu-models"]`):
export { listModels } from './catalog.ts';
export { readPoolHost, parsePoolHost } from './read-pool-host.ts';
export { collectModelsSection } from './report-section.ts';
export type { PoolHostFeatures } from './read-pool-host.ts';
