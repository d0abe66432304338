/**
 * kvcpu's native planner: plain data in and out (see plan-guests.ts).
 * CPU numbers are host logical CPU ids; vCPU numbers are guest CPU indexes.
 */

export type CpuPolicy = 'dedicated' | 'shared' | 'mixed';
export type ThreadPolicyName = 'prefer' | 'isolate' | 'require';

/** The host as the planner sees it: NUMA nodes, cores (SMT sibling groups), L3 domains, CPU sets. */
export interface PlanHost {
  name: string;
  online: number[];
  nodes: { id: number; cpus: number[]; memoryMiB: number | null }[];
  /** Thread-sibling groups (one per core), sorted by first CPU. */
  cores: number[][];
  /** CPUs sharing one L3 cache (empty when unknown). */
  l3: number[][];
  /** Housekeeping CPUs: never given to guest vCPUs. */
  reserved: number[];
  /** CPUs dedicated (pinned) vCPUs may take (Nova cpu_dedicated_set). */
  dedicated: number[];
  /** CPUs floating (shared) vCPUs float over (Nova cpu_shared_set). */
  shared: number[];
  /** Kernel isolcpus (no load balancing): fine for pinned vCPUs, never for floating ones. */
  isolated: number[];
  /** Legacy layout (no explicit sets): dedicated and shared are the same CPUs, as in Nova's vcpu_pin_set. */
  legacy: boolean;
  /** What the set-up did to keep the sets coherent (one line each). */
  notes: string[];
}

/** Claims on a host: changes as guests are planned. */
export interface PlanState {
  /** Host CPUs held by dedicated vCPUs and isolated emulator threads. */
  pinned: Set<number>;
  /** Floating vCPUs placed per NUMA node (Nova cpu_usage). */
  sharedVcpus: Map<number, number>;
  /** MiB placed per NUMA node. */
  memoryMiB: Map<number, number>;
}

export interface GuestRequest {
  name: string;
  vcpus: number;
  /** MiB (default 1024 × NUMA nodes... see parse): split evenly across guest NUMA nodes. */
  memoryMiB: number;
  policy: CpuPolicy;
  threads: ThreadPolicyName;
  emulator: 'share' | 'isolate';
  /** Guest NUMA nodes; 'auto' = the fewest (1, 2, 4, ...) that fit. */
  numa: number | 'auto';
  /** Keep each guest node's pinned CPUs inside one L3 domain when that fits (default true). */
  l3: boolean;
  /** mixed: vCPU ids that are dedicated (Nova hw:cpu_dedicated_mask). */
  dedicatedVcpus?: number[];
  /** IOThreads to place next to the emulator threads. */
  iothreads: number;
}

export interface PlanOptions {
  /** Order NUMA nodes: spread (emptiest first, Nova's default) or pack (fullest first that fits). */
  placement: 'spread' | 'pack';
  /** Floating vCPUs per shared CPU (Nova cpu_allocation_ratio; 4.0 since Nova 27). */
  cpuAllocationRatio: number;
  /** Node memory overcommit for shared guests (Nova ram_allocation_ratio; 1.0 since Nova 27). */
  ramAllocationRatio: number;
}

export const DEFAULT_PLAN_OPTIONS: PlanOptions = { placement: 'spread', cpuAllocationRatio: 4, ramAllocationRatio: 1 };

export interface PlannedVcpu {
  vcpu: number;
  /** One CPU for a dedicated vCPU, the node's floating set for a shared one. */
  cpus: number[];
  dedicated: boolean;
  node: number;
}

export interface PlannedCell {
  guestCell: number;
  hostNode: number;
  vcpus: number[];
  memoryMiB: number;
  /** The L3 domain the pinned CPUs stay in, or null. */
  l3: number[] | null;
  why: string;
}

export interface GuestTopologyChoice {
  sockets: number;
  dies: number;
  clusters: number;
  cores: number;
  threads: number;
}

export interface GuestPlanOk {
  name: string;
  fits: true;
  request: GuestRequest;
  vcpus: PlannedVcpu[];
  /** Emulator threads' CPUs (null = leave alone). */
  emulator: number[] | null;
  iothreads: Record<string, number[]>;
  cells: PlannedCell[];
  topology: GuestTopologyChoice;
  reasons: string[];
}

export interface GuestPlanRefused {
  name: string;
  fits: false;
  request: GuestRequest;
  /** The constraint that failed, as a value a script can show. */
  failed: string;
  reasons: string[];
}

export type GuestPlan = GuestPlanOk | GuestPlanRefused;

export interface HostAfter {
  pinned: string;
  freeDedicated: string;
  nodes: { id: number; sharedVcpus: number; sharedCapacity: number; memoryUsedMiB: number; memoryMiB: number | null }[];
}

export interface PlanResult {
  host: string;
  guests: GuestPlan[];
  hostAfter: HostAfter;
  notes: string[];
}
