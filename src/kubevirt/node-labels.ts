/**
 * The labels KubeVirt's virt-handler node-labeller puts on a node, computed from the same inputs
 * it reads. Mirrors KubeVirt v1.9.0 (tag v1.9.0, pkg/virt-handler/node-labeller/, amd64 labeller);
 * each rule names the Go function it follows. Pure: takes parsed data, no I/O.
 */

/** Label prefixes and keys of KubeVirt v1.9.0 (staging/src/kubevirt.io/api/core/v1/types.go). */
export const KUBEVIRT_LABEL = {
  cpuFeature: 'cpu-feature.node.kubevirt.io/',
  cpuModel: 'cpu-model.node.kubevirt.io/',
  cpuModelMigration: 'cpu-model-migration.node.kubevirt.io/',
  cpuTimer: 'cpu-timer.node.kubevirt.io/',
  hyperv: 'hyperv.node.kubevirt.io/',
  cpuVendor: 'cpu-vendor.node.kubevirt.io/',
  machineType: 'machine-type.node.kubevirt.io/',
  hostModelCpu: 'host-model-cpu.node.kubevirt.io/',
  hostModelRequiredFeatures: 'host-model-required-features.node.kubevirt.io/',
  obsoleteHostModel: 'node-labeller.kubevirt.io/obsolete-host-model',
  realtime: 'kubevirt.io/realtime',
  sev: 'kubevirt.io/sev',
  sevEs: 'kubevirt.io/sev-es',
  sevSnp: 'kubevirt.io/sev-snp',
  s390pv: 'kubevirt.io/s390-pv',
  tdx: 'kubevirt.io/tdx',
  vmArch: 'kubevirt.io/vm-arch-',
  /** virt-controller's topology updater (pkg/virt-controller/watch/topology/filter.go). */
  tscScheduling: 'scheduling.node.kubevirt.io/tsc-frequency-',
} as const;

/**
 * The label keys (prefixes) virt-handler removes before it sets its new labels: node_labeller.go
 * `nodeLabellerLabels` (isNodeLabellerLabel). cpu-vendor is not in that list in v1.9.0 (a stale
 * vendor label survives there); kvcpu's `labels apply` also clears cpu-vendor keys it did not set,
 * see STALE_PREFIXES.
 */
export const LABELLER_PREFIXES: readonly string[] = [
  KUBEVIRT_LABEL.cpuFeature,
  KUBEVIRT_LABEL.cpuModel,
  KUBEVIRT_LABEL.cpuModelMigration,
  KUBEVIRT_LABEL.cpuTimer,
  KUBEVIRT_LABEL.hyperv,
  KUBEVIRT_LABEL.realtime,
  KUBEVIRT_LABEL.sev,
  KUBEVIRT_LABEL.sevEs,
  KUBEVIRT_LABEL.sevSnp,
  KUBEVIRT_LABEL.tdx,
  KUBEVIRT_LABEL.hostModelCpu,
  KUBEVIRT_LABEL.hostModelRequiredFeatures,
  KUBEVIRT_LABEL.obsoleteHostModel,
  KUBEVIRT_LABEL.machineType,
  KUBEVIRT_LABEL.vmArch,
];

/** What `kvcpu labels apply` nulls when the node has it and kvcpu did not compute it. */
export const STALE_PREFIXES: readonly string[] = [...LABELLER_PREFIXES, KUBEVIRT_LABEL.cpuVendor, KUBEVIRT_LABEL.s390pv];

/**
 * KubeVirt's default obsolete CPU models (pkg/virt-handler/node-labeller/util/util.go
 * DefaultObsoleteCPUModels), used when the KubeVirt CR sets no `obsoleteCPUModels`.
 */
export const DEFAULT_OBSOLETE_CPU_MODELS: readonly string[] = [
  '486',
  'pentium',
  'pentium2',
  'pentium3',
  'pentiumpro',
  'coreduo',
  'n270',
  'core2duo',
  'Conroe',
  'athlon',
  'phenom',
  'qemu64',
  'qemu32',
  'kvm64',
  'kvm32',
  'Opteron_G1',
  'Opteron_G2',
].flatMap((m) => [m, `${m}-v1`]);

/** One `<model>` of a domcapabilities `<mode>` (name as text, `usable` attribute). */
export interface DomCapsModel {
  name: string;
  /** The `usable` attribute: 'yes', 'no', 'unknown', or '' when absent. */
  usable: string;
  fallback: string | null;
}

/** The parts of `virsh domcapabilities` the labeller reads (model.go HostDomCapabilities). */
export interface DomCapabilities {
  arch: string | null;
  /** `<mode name='host-model'>`, null when absent or unsupported. */
  hostModel: { models: DomCapsModel[]; vendor: string | null; features: { name: string; policy: string }[] } | null;
  /** Every `<model>` of every `<mode>` (host-model's and custom's), in document order. */
  models: DomCapsModel[];
  sev: { supported: boolean; maxESGuests: number } | null;
  /** `<launchSecurity supported='yes'><enum name='sectype'><value>sev-snp</value>...`. */
  launchSecurityTypes: string[];
  tdx: boolean;
  s390pv: boolean;
}

/** `/capabilities/host/cpu/counter` of `virsh capabilities`. */
export interface CpuCounter {
  name: string;
  frequency: number;
  scaling: string;
}

export interface NodeLabelInput {
  domCapabilities: DomCapabilities;
  /**
   * `supported_features.xml`: node-labeller.sh pipes domcapabilities into
   * `virsh hypervisor-cpu-baseline --features`; the features there with policy require.
   * null = not available (then no cpu-feature labels, like a labeller that could not load them).
   */
  supportedFeatures: { name: string; policy: string }[] | null;
  /** `capabilities.Host.CPU.Counter`; null when capabilities were not given. */
  counter: CpuCounter | null;
  /** Every `<machine>` of every `<guest><arch>` of capabilities (virt-handler.go getMachines). */
  machines: string[];
  /** Hyper-V enlightenments KVM offers (kvm-caps-info-plugin_amd64.go); null = not probed. */
  hyperv: string[] | null;
  /** `kernel.sched_rt_runtime_us = -1` (isNodeRealtimeCapable); null = unknown. */
  realtime: boolean | null;
  /** The KubeVirt CR's obsoleteCPUModels; undefined = KubeVirt's default list. */
  obsoleteModels?: readonly string[];
  /** The CR's cross-architecture feature gate; when true the vm-arch label of this arch is set. */
  crossArch?: boolean;
}

export interface NodeLabels {
  labels: Record<string, string>;
  hostModel: string | null;
  /** Rules that could not be applied from the given inputs. */
  notes: string[];
}

const GOARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', s390x: 's390x' };

/**
 * KubeVirt v1.9.0 NodeLabeller.prepareLabels for an amd64 node (archLabellerAMD64: host supported
 * features, named models and host-model all apply; other architectures are refused by the caller).
 */
export function kubevirtNodeLabels(input: NodeLabelInput): NodeLabels {
  const labels: Record<string, string> = {};
  const notes: string[] = [];
  const dc = input.domCapabilities;
  const obsolete = new Set(input.obsoleteModels ?? DEFAULT_OBSOLETE_CPU_MODELS);

  // getSupportedCpuFeatures ← loadHostSupportedFeatures: only policy 'require' (defaultArchLabeller.requirePolicy).
  if (input.supportedFeatures) {
    for (const f of input.supportedFeatures) if (f.policy === 'require') labels[KUBEVIRT_LABEL.cpuFeature + f.name] = 'true';
  } else notes.push('no supported-features input (hypervisor-cpu-baseline --features): cpu-feature labels not set');

  // loadDomCapabilities: every <model> of every mode with a non-empty usable attribute and name is
  // known (cpu-model-migration); usable unless usable='no' (so 'unknown' counts as usable);
  // filterCpuModels drops the obsolete ones from both lists.
  for (const m of dc.models) {
    const name = m.name.trim();
    if (!m.usable || !name || obsolete.has(name)) continue;
    labels[KUBEVIRT_LABEL.cpuModelMigration + name] = 'true';
    if (m.usable !== 'no') labels[KUBEVIRT_LABEL.cpuModel + name] = 'true';
  }

  // supportedMachines (cmd/virt-handler getMachines → prepareLabels).
  for (const machine of input.machines) labels[KUBEVIRT_LABEL.machineType + machine] = 'true';

  // loadHypervFeatures → getCapLabels.
  if (input.hyperv) for (const h of input.hyperv) labels[KUBEVIRT_LABEL.hyperv + h] = 'true';
  else notes.push('Hyper-V enlightenments (KVM_CHECK_EXTENSION / KVM_GET_MSR_INDEX_LIST) not probed: hyperv.node.kubevirt.io labels not set');

  // hasTSCCounter: only a counter named tsc; scalable is the string compare scaling == "yes".
  if (input.counter && input.counter.name === 'tsc') {
    labels[KUBEVIRT_LABEL.cpuTimer + 'tsc-frequency'] = String(input.counter.frequency);
    labels[KUBEVIRT_LABEL.cpuTimer + 'tsc-scalable'] = String(input.counter.scaling === 'yes');
    // virt-controller's nodeTopologyUpdater (calculateNodeLabelChanges → CalculateTSCLabelDiff)
    // always adds the node's own frequency (HasInvTSCFrequency: frequency > 0); the frequencies of
    // running VMIs and the cluster's lowest are cluster state kvcpu does not see.
    if (input.counter.frequency > 0) labels[KUBEVIRT_LABEL.tscScheduling + String(input.counter.frequency)] = 'true';
  } else
    notes.push(
      input.counter ? `CPU counter is ${input.counter.name}, not tsc: no cpu-timer labels` : 'no TSC counter (capabilities): cpu-timer labels not set',
    );

  // loadDomCapabilities host-model branch + prepareLabels supportsHostModel.
  let hostModel: string | null = null;
  if (dc.hostModel) {
    const first = dc.hostModel.models[0];
    if (!first) notes.push('host-model mode without a model (KubeVirt refuses to start the labeller)');
    else {
      hostModel = first.name;
      if (obsolete.has(hostModel)) labels[KUBEVIRT_LABEL.obsoleteHostModel] = 'true';
      for (const f of dc.hostModel.features) if (f.policy === 'require') labels[KUBEVIRT_LABEL.hostModelRequiredFeatures + f.name] = 'true';
      // defaultVendor of amd64 is "" (so a host-model without <vendor> gets the bare prefix, as Go does).
      labels[KUBEVIRT_LABEL.cpuVendor + (dc.hostModel.vendor ?? '')] = 'true';
      labels[KUBEVIRT_LABEL.hostModelCpu + hostModel] = 'true';
    }
  } else notes.push('no supported host-model mode in domcapabilities: no host-model labels');

  if (input.realtime) labels[KUBEVIRT_LABEL.realtime] = 'true';
  else if (input.realtime === null) notes.push('kernel.sched_rt_runtime_us unknown: realtime label not judged');

  // getDomCapabilities: SEV-ES needs maxESGuests > 0; SEV-SNP also launchSecurity with sev-snp.
  if (dc.sev?.supported) {
    labels[KUBEVIRT_LABEL.sev] = 'true';
    if (dc.sev.maxESGuests > 0) {
      labels[KUBEVIRT_LABEL.sevEs] = 'true';
      if (dc.launchSecurityTypes.includes('sev-snp')) labels[KUBEVIRT_LABEL.sevSnp] = 'true';
    }
  }
  if (dc.s390pv) labels[KUBEVIRT_LABEL.s390pv] = 'true';
  if (dc.tdx) labels[KUBEVIRT_LABEL.tdx] = 'true';

  if (input.crossArch) {
    const arch = GOARCH[dc.arch ?? 'x86_64'] ?? dc.arch ?? 'amd64';
    labels[KUBEVIRT_LABEL.vmArch + arch] = 'true';
  }
  return { labels: sortLabels(labels), hostModel, notes };
}

/** Labels in key order (stable output and patches). */
export function sortLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
