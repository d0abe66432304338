import { z } from 'zod';
import type { HostIdentity } from './read-identity.ts';
import type { HostSnapshot } from './types.ts';

/**
 * The host snapshot as a zod schema: what `kvcpu host --json` prints, what `--host FILE`
 * options read back (host-json.ts) and the `host` section of kvcpu/report/1
 * (app/report-schema.ts). The TypeScript interfaces in types.ts carry the field docs; the
 * assertions at the end keep the two identical, so neither can drift alone.
 */
const cpulist = z.string().describe('kernel cpulist, e.g. "0-3,8" ("" = none)');
const int = z.number().int();

export const HostIdentitySchema = z.object({
  hostname: z.string().nullable().describe('proc/sys/kernel/hostname under the root (live: os.hostname()), null when unknown'),
  machineId: z.string().nullable().describe('etc/machine-id under the root (systemd machine-id(5)), null when absent'),
});

export const HostCpuSetsSchema = z.object({
  possible: cpulist.nullable(),
  present: cpulist.nullable(),
  online: cpulist,
  offline: cpulist,
  isolated: cpulist.nullable(),
  kernelMax: int.nullable(),
  allowed: cpulist.nullable().optional(),
});

export const HostCpuIdentitySchema = z.object({
  vendor: z.string().nullable(),
  modelNames: z.array(z.string()),
  family: int.nullable(),
  model: int.nullable(),
  stepping: int.nullable(),
  flags: z.array(z.string()),
  flagsNotOnAllCpus: z.array(z.string()),
  vmxFlags: z.array(z.string()),
  hwVirtualization: z.enum(['vmx', 'svm', 'sie']).nullable(),
  hypervisorFlag: z.boolean(),
  hybrid: z.boolean(),
  coreKinds: z.array(z.object({ name: z.string(), cpus: cpulist })),
});

export const HostTopologySchema = z.object({
  sockets: int,
  dies: int.nullable(),
  clusters: int.nullable(),
  cores: int,
  threadsPerCore: int,
  threadsPerCoreMin: int,
  coresPerSocket: z.union([int, z.array(int)]),
  smt: z.boolean(),
  packages: z.array(z.object({ id: int.nullable(), cpus: cpulist })),
  coreGroups: z.array(cpulist),
  l3Domains: z.array(cpulist),
});

export const NumaNodeSchema = z.object({
  id: int,
  cpus: cpulist,
  memoryKb: z.number().nullable(),
  distances: z.array(int).nullable(),
});

export const PerCpuRowSchema = z.object({
  cpu: int,
  online: z.boolean(),
  socket: int.nullable(),
  die: int.nullable(),
  cluster: int.nullable(),
  coreId: int.nullable(),
  core: int.nullable(),
  siblings: cpulist.nullable(),
  node: int.nullable(),
  l3: cpulist.nullable(),
  maxMhz: z.number().nullable(),
  book: int.nullable().optional(),
  drawer: int.nullable().optional(),
});

/** `kvcpu host --json` (HostSnapshot): also what `--host FILE` options read back. */
export const HostSnapshotSchema = z.object({
  root: z.string(),
  arch: z.string(),
  cpus: HostCpuSetsSchema,
  cpu: HostCpuIdentitySchema,
  topology: HostTopologySchema,
  numa: z.object({ nodes: z.array(NumaNodeSchema) }),
  perCpu: z.array(PerCpuRowSchema),
  warnings: z.array(z.string()),
});

// Both directions: a schema field the interface lacks, or the reverse, fails `tsc`.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const snapshotMatches: Same<z.infer<typeof HostSnapshotSchema>, HostSnapshot> = true;
const identityMatches: Same<z.infer<typeof HostIdentitySchema>, HostIdentity> = true;
void snapshotMatches;
void identityMatches;
