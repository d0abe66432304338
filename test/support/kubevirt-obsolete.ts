// KubeVirt v1.9.0's default obsolete CPU models (pkg/virt-handler/node-labeller/util/util.go
// DefaultObsoleteCPUModels), written out for the tests on purpose rather than imported from
// src/kubevirt: the label tests check kvcpu's list against this one instead of against itself.
export const KUBEVIRT_OBSOLETE_MODELS: ReadonlySet<string> = new Set(
  [
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
  ].flatMap((m) => [m, `${m}-v1`]),
);
