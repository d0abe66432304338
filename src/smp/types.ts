/**
 * Guest vCPU topology as QEMU models it (`-smp`), largest level first.
 *
 * Every level is a count per parent level (dies per socket, cores per cluster/module/die, …),
 * like QEMU's SMPConfiguration. `maxcpus` = drawers*books*sockets*dies*clusters*modules*cores*threads
 * (every possible vCPU); `cpus` = vCPUs present at boot (the rest are hot-pluggable slots).
 * Levels a machine does not have are 1. `modules` exists from QEMU 9.1 (x86 pc/q35); absent = 1.
 */
export interface GuestTopology {
  drawers: number;
  books: number;
  sockets: number;
  dies: number;
  clusters: number;
  modules?: number;
  cores: number;
  threads: number;
  cpus: number;
  maxcpus: number;
}

/** The `-smp` members, in QAPI schema (= QEMU's visit) order. */
export const SMP_MEMBERS = ['cpus', 'drawers', 'books', 'sockets', 'dies', 'clusters', 'modules', 'cores', 'threads', 'maxcpus'] as const;
export type SmpMember = (typeof SMP_MEMBERS)[number];

/** Topology levels between the machine and a thread, largest first. */
export const TOPOLOGY_LEVELS = ['drawers', 'books', 'sockets', 'dies', 'clusters', 'modules', 'cores', 'threads'] as const;
export type TopologyLevel = (typeof TOPOLOGY_LEVELS)[number];

/** Stable error codes of `parseSmp` (QEMU's refusal classes). */
export type SmpErrorCode =
  | 'E_SMP_SYNTAX' // keyval syntax: Invalid parameter / Expected '=' / too long
  | 'E_SMP_NOT_INTEGER' // Parameter 'smp.X' expects integer
  | 'E_SMP_UNKNOWN_KEY' // Parameter 'smp.X' is unexpected / Parameters 'smp.X.*' are unexpected
  | 'E_SMP_ZERO' // QEMU >= 9.0: a member given as 0
  | 'E_SMP_OUT_OF_RANGE' // a value < 0 or >= 2^32 that QEMU 7.2 would wrap to 32 bits (kvcpu refuses)
  | 'E_SMP_UNSUPPORTED_LEVEL' // dies/clusters/... > 1 on a machine without that level
  | 'E_SMP_PRODUCT_MISMATCH' // product of the hierarchy must match maxcpus
  | 'E_SMP_MAXCPUS_LT_CPUS' // maxcpus must be equal to or greater than smp
  | 'E_SMP_TOO_FEW_CPUS' // cpus < machine min_cpus
  | 'E_SMP_TOO_MANY_CPUS' // maxcpus > machine max_cpus
  | 'E_SMP_APIC_ID_LIMIT' // x86 TCG (QEMU < 9.0): APIC IDs >= 255 need KVM + x2APIC
  | 'E_SMP_MACHINE_UNKNOWN' // unsupported machine type
  | 'E_SMP_QEMU_VERSION' // --qemu-version not understood / not modelled
  | 'E_SMP_HELP'; // `-smp help`: QEMU prints the member list and exits 0

export interface SmpError {
  code: SmpErrorCode;
  /** QEMU's own text (without the `qemu-system-x86_64: ` prefix) where QEMU refuses. */
  message: string;
  /** `-smp ARG` when QEMU reports the error while parsing that option (keyval syntax). */
  location?: string;
  /** True when QEMU itself would not refuse this (it wraps/crashes) and kvcpu refuses instead. */
  kvcpuOnly?: boolean;
}

/** How one omitted (or zero) value was filled in, for the human explanation. */
export interface SmpFill {
  member: SmpMember;
  value: number;
  rule: string;
}

export type SmpResult =
  | {
      ok: true;
      topology: GuestTopology;
      /** Full explicit spec QEMU accepts back, in schema order (see formatSmp). */
      canonical: string;
      /** Concrete machine type the spec was checked against (`q35` → `pc-q35-7.2`). */
      machine: string;
      qemuVersion: string;
      /** Warnings QEMU prints for this spec (`-smp` rules only), without the `warning: ` prefix. */
      warnings: string[];
      fills: SmpFill[];
    }
  | { ok: false; error: SmpError; machine?: string; qemuVersion?: string; warnings: string[] };
