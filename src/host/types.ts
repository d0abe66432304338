import type { LscpuFields } from './lscpu-fields.ts';
/**
 * What kvcpu knows about a host's CPUs, read from /proc and /sys under a root prefix
 * (see read-host.ts). Plain data: every other capability (check, topology suggest, CPU
 * models, guests, planner) takes this, so a captured tree and the live host behave alike.
 * Cpulists are kernel list strings (`0-3,8`); CPU numbers are logical CPU ids.
 */
export interface HostSnapshot {
  /** The root prefix the snapshot was read from ("/" for the live host). */
  root: string;
  /** `uname -m` style: x86_64 | i686 | aarch64 | armv7l (armvNl) | ppc64 | ppc64le | ppc | s390x | riscv64 | loongarch64 | sparc64 | unknown (inferred from cpuinfo). */
  arch: string;
  cpus: HostCpuSets;
  cpu: HostCpuIdentity;
  topology: HostTopology;
  numa: { nodes: NumaNode[] };
  /** One row per present CPU (online and offline), sorted by cpu. */
  perCpu: PerCpuRow[];
  /** Things the reader noticed but tolerated (missing files, broken kernel topology). */
  warnings: string[];
  /** lscpu's other summary fields: address sizes, virtualization, hypervisor, caches,
   * vulnerabilities (optional: snapshots written by older kvcpu lack it). */
  lscpu?: LscpuFields;
}

export interface HostCpuSets {
  /** Raw kernel files (null = file absent, e.g. old kernels). */
  possible: string | null;
  present: string | null;
  /** Online CPUs: the `online` file, else per-CPU `online` files (missing = online). */
  online: string;
  /** Present but not online. */
  offline: string;
  /** `isolated` (isolcpus=), null when absent. */
  isolated: string | null;
  /** kernel_max, null when absent. */
  kernelMax: number | null;
  /**
   * CPUs the reading process may run on (`Cpus_allowed_list` of /proc/self/status: cgroup
   * cpuset and affinity), null when not known (e.g. a captured tree without it). Differs from
   * `online` inside containers and cpuset-restricted services.
   */
  allowed?: string | null;
}

export interface HostCpuIdentity {
  /** GenuineIntel, AuthenticAMD, ARM, IBM/S390, ... (null when cpuinfo does not say). */
  vendor: string | null;
  /** Distinct model names (several on heterogeneous/hybrid CPUs), in first-seen order. */
  modelNames: string[];
  family: number | null;
  model: number | null;
  stepping: number | null;
  /** Flags of the first CPU record (`flags` on x86, `Features`/`features` elsewhere). */
  flags: string[];
  /** Flags not present on every CPU record. */
  flagsNotOnAllCpus: string[];
  /** x86 `vmx flags` line (Linux >= 5.8), empty when absent. */
  vmxFlags: string[];
  /** vmx | svm | sie (s390) | null. */
  hwVirtualization: 'vmx' | 'svm' | 'sie' | null;
  /** The `hypervisor` cpuinfo flag: this host is itself a guest. */
  hypervisorFlag: boolean;
  /** True when CPUs of different kinds exist (P/E cores, big.LITTLE). */
  hybrid: boolean;
  /** Core kinds, one per distinct kind, with the CPUs of each. */
  coreKinds: { name: string; cpus: string }[];
}

export interface HostTopology {
  /** Distinct packages among online CPUs with topology. */
  sockets: number;
  /** Dies in total, null when the kernel has no die information. */
  dies: number | null;
  /** Clusters in total where the kernel reports real clusters, else null. */
  clusters: number | null;
  /** Distinct thread-sibling groups (cores). */
  cores: number;
  /** Max threads per core. */
  threadsPerCore: number;
  threadsPerCoreMin: number;
  /** Cores per socket: a number, or a list (one per package) when packages differ. */
  coresPerSocket: number | number[];
  smt: boolean;
  packages: { id: number | null; cpus: string }[];
  /** The thread-sibling partition, one cpulist per core, sorted by first CPU. */
  coreGroups: string[];
  /** CPU sets that share one L3 cache, sorted by first CPU (empty when no L3 info). */
  l3Domains: string[];
}

export interface NumaNode {
  id: number;
  /** cpulist ("" for CPU-less nodes). */
  cpus: string;
  /** Node memory in KiB from nodeN/meminfo, null when absent. */
  memoryKb: number | null;
  /** SLIT distances to every node in `numa.nodes` order, null when absent. */
  distances: number[] | null;
}

export interface PerCpuRow {
  cpu: number;
  online: boolean;
  /** physical_package_id, null when -1 or absent. */
  socket: number | null;
  die: number | null;
  cluster: number | null;
  /** Raw core_id (NOT unique across packages). */
  coreId: number | null;
  /** Machine-wide logical core index (position of its sibling group in coreGroups), like lscpu's CORE. */
  core: number | null;
  /** thread_siblings as a cpulist, null without topology. */
  siblings: string | null;
  node: number | null;
  /** CPUs sharing this CPU's L3, null when unknown. */
  l3: string | null;
  /** Max frequency in MHz when cpufreq tells, null otherwise. */
  maxMhz: number | null;
  book?: number | null;
  drawer?: number | null;
}
