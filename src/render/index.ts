/**
 * `kvcpu/render`: Render: one guest topology as QEMU args, libvirt XML, KubeVirt, Nova extra specs, Proxmox.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { renderTopology, renderTopologyDetailed, assertTopology, TOPOLOGY_FORMATS } from './render-topology.ts';
export type { TopologyFormat, RenderOptions } from './render-topology.ts';
export { renderLibvirt } from './render-libvirt.ts';
export { renderKubevirt } from './render-kubevirt.ts';
export { renderNova } from './render-nova.ts';
export { renderProxmox } from './render-proxmox.ts';
export type { RenderedTopology } from './render-helpers.ts';
