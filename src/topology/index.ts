/**
 * `kvcpu/topology`: Topology: suggest a guest topology for a host, and Nova's hw:cpu_* topology algorithm.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { suggestTopology, GUEST_OSES } from './suggest-topology.ts';
export type { GuestOs, SuggestTopologyRequest, SuggestedNumaNode, TopologySuggestion } from './suggest-topology.ts';
export {
  getNovaConstraints,
  getNovaPossibleTopologies,
  sortNovaTopologies,
  chooseNovaTopology,
  novaTopologyWarnings,
  ImagePropertyError,
  NOVA_NO_LIMIT,
} from './nova-topology.ts';
export type { Sct, NovaTopologyRequest, NovaConstraints, NovaTopologyError } from './nova-topology.ts';
export { numaQemuArgs } from './numa-qemu-args.ts';
