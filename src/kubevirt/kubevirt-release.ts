/** The KubeVirt release whose node-labeller kvcpu mirrors (tag v1.9.0 of kubevirt/kubevirt). */
export const KUBEVIRT_RELEASE = 'v1.9.0';
