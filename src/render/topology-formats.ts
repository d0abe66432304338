// The format names alone, apart from the renderers (and the YAML library KubeVirt's needs), so
// a CLI command can offer them as `--format` choices without loading any renderer.
export type TopologyFormat = 'qemu' | 'libvirt' | 'kubevirt' | 'nova' | 'nova-json' | 'proxmox' | 'json';
export const TOPOLOGY_FORMATS: TopologyFormat[] = ['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox', 'json'];
/** The consumer formats `json` carries (every rendering of one plan). */
export const CONSUMER_FORMATS = ['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox'] as const;
export type ConsumerFormat = (typeof CONSUMER_FORMATS)[number];
