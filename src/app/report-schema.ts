import { z } from 'zod';

/**
 * `kvcpu/report/1`: the one contract for what kvcpu knows about a host. `kvcpu report --json`
 * prints it, the agent (`kvcpu serve`) serves it, the exporter reads it and the fleet stores it
 * as one row. The TypeScript types are derived from these schemas (never written twice) and
 * docs/report.schema.json is generated from them (`npm run gen:schema`).
 *
 * Versioning: adding an optional field keeps `/1`; removing or retyping a field, or making one
 * required, is `/2`. Objects are not strict, so a `/1` reader accepts a newer `/1` writer.
 */
export const REPORT_SCHEMA_ID = 'kvcpu/report/1';

const cpulist = z.string().describe('kernel cpulist, e.g. "0-3,8" ("" = none)');
const int = z.number().int();

// --- host -------------------------------------------------------------------------------------

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

/** The cpuinfo flags decoded into QEMU feature names (cpu-models/feature-names.ts). */
export const DecodedFeaturesSchema = z.object({
  qemu: z.array(z.string()).describe('QEMU -cpu feature names the flags stand for'),
  unknown: z.array(z.string()).describe('cpuinfo flags with no QEMU feature (kernel-synthetic or too new)'),
});

export const HostSectionDataSchema = HostSnapshotSchema.extend({
  identity: HostIdentitySchema,
  features: DecodedFeaturesSchema.nullable().describe('null on non-x86 hosts'),
});

// --- checks -----------------------------------------------------------------------------------

/** Every id `kvcpu check` can report (scripts match on them; a new check adds one here). */
export const CHECK_IDS = [
  'cpu.hwvirt',
  'cpu.vmx.ept',
  'cpu.vmx.vpid',
  'cpu.vmx.unrestricted_guest',
  'cpu.vmx.posted_interrupts',
  'cpu.svm.npt',
  'kvm.module',
  'kvm.nested',
  'kvm.device',
  'kvm.permissions',
  'kvm.usable',
  'kvm.vcpu_limits',
  'iommu.acpi',
  'iommu.enabled',
  'iommu.groups',
  'iommu.cmdline',
  'sriov',
  'vmdq',
  'smp.kernel',
  'cpus.online',
  'irqbalance',
  'isolation.cmdline',
] as const;
export const CheckIdSchema = z.enum(CHECK_IDS);
export const CheckStatusSchema = z.enum(['PASS', 'WARN', 'FAIL', 'SKIP']);

export const CheckSchema = z.object({
  id: CheckIdSchema,
  status: CheckStatusSchema,
  summary: z.string(),
  evidence: z.array(z.string()),
  fix: z.string().nullable(),
});
export const ChecksSectionDataSchema = z.object({ checks: z.array(CheckSchema) });

// --- CPU models -------------------------------------------------------------------------------

export const ModelsSectionDataSchema = z.object({
  accel: z.enum(['kvm', 'tcg']),
  accelExact: z.boolean().describe('false: KVM features estimated from /proc/cpuinfo'),
  kvmUsable: z.boolean().nullable().describe('the one KVM probe (same answer as check kvm.usable); null when not asked (captured tree)'),
  qemu: z.object({
    catalog: z.string(),
    installed: z.string().nullable(),
    source: z.enum(['snapshot', 'live', 'snapshot-no-qemu']),
  }),
  hostLevel: z.object({ level: int, missingForNext: z.array(z.string()) }),
  runnable: z.array(z.string()),
  notRunnable: z.array(z.object({ name: z.string(), missing: z.array(z.string()) })),
  notes: z.array(z.string()),
});

// --- guests -----------------------------------------------------------------------------------

export const GuestThreadSchema = z.object({
  tid: int,
  comm: z.string(),
  role: z.enum(['vcpu', 'emulator', 'iothread', 'vhost', 'other']),
  vcpu: int.nullable(),
  vcpus: z.array(int).optional(),
  iothread: z.string().optional(),
  detail: z.string().optional(),
  state: z.string(),
  psr: int.nullable(),
  psrStale: z.boolean(),
  affinity: cpulist,
  cpuTicks: z.number(),
  voluntarySwitches: z.number().nullable(),
  involuntarySwitches: z.number().nullable(),
  migrations: z.number().nullable(),
  runNs: z.number().nullable(),
  waitNs: z.number().nullable(),
  core: int.nullable(),
  siblings: cpulist.nullable(),
  node: int.nullable(),
});

/** One guest as `kvcpu ps --json` prints it. */
export const GuestSchema = z.object({
  pid: int,
  name: z.string(),
  startTime: z.number(),
  accel: z.string(),
  tcgThread: z.string().nullable(),
  cpuModel: z.string().nullable(),
  smp: z.string().nullable(),
  vcpus: int,
  maxCpus: int,
  memoryMiB: z.number().nullable(),
  vcpuSource: z.enum(['thread-names', 'qmp', 'libvirt', 'none']),
  libvirt: z.boolean(),
  qmpSockets: z.array(z.string()),
  threads: z.array(GuestThreadSchema),
});
export const GuestsSectionDataSchema = z.object({ guests: z.array(GuestSchema) });

// --- overcommit -------------------------------------------------------------------------------

const verdict = z.enum(['PASS', 'WARN', 'FAIL']);
export const OvercommitSectionDataSchema = z.object({
  verdict,
  hostCpus: int,
  guestVcpus: int,
  ratio: z.number(),
  limit: z.number(),
  guests: z.array(z.object({ pid: int, name: z.string(), vcpus: int, maxCpus: int, pinnedCpus: cpulist.nullable(), oversized: z.boolean() })),
  doublyClaimed: z.array(z.object({ cpu: int, guests: z.array(z.string()) })),
  perCpu: z.array(z.object({ cpu: int, vcpuThreads: int, running: int })),
  checks: z.array(z.object({ id: z.string(), status: verdict, message: z.string() })),
});

// --- the report -------------------------------------------------------------------------------

export const ErrorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const SectionStatusSchema = z.enum(['ok', 'findings', 'skipped']);

/**
 * A section: `data` is the capability's JSON (what its own command prints with --json), null
 * when skipped; a skipped section says why (`reason`) or carries the error that stopped it.
 */
function section<T extends z.ZodType>(data: T) {
  return z.object({
    title: z.string(),
    status: SectionStatusSchema,
    data: data.nullable(),
    reason: z.string().optional(),
    error: ErrorBodySchema.optional(),
  });
}

export const REPORT_SECTION_IDS = ['host', 'checks', 'models', 'guests', 'overcommit'] as const;
export const ReportSectionIdSchema = z.enum(REPORT_SECTION_IDS);

export const ReportSectionsSchema = z.object({
  host: section(HostSectionDataSchema).optional(),
  checks: section(ChecksSectionDataSchema).optional(),
  models: section(ModelsSectionDataSchema).optional(),
  guests: section(GuestsSectionDataSchema).optional(),
  overcommit: section(OvercommitSectionDataSchema).optional(),
});

export const ReportSchema = z
  .object({
    schema: z.literal(REPORT_SCHEMA_ID),
    kvcpuVersion: z.string(),
    generatedAt: z.string().describe('ISO 8601 time the report was taken'),
    root: z.string().describe('root prefix read ("/" = the live host)'),
    host: HostIdentitySchema,
    sections: ReportSectionsSchema.describe('the sections asked for (all by default), in print order'),
  })
  .describe('kvcpu host report (kvcpu report --json, GET /v1/report)');

export type Report = z.infer<typeof ReportSchema>;
export type ReportSectionId = z.infer<typeof ReportSectionIdSchema>;
export type ReportSections = z.infer<typeof ReportSectionsSchema>;
export type SectionStatus = z.infer<typeof SectionStatusSchema>;
export type HostIdentity = z.infer<typeof HostIdentitySchema>;
export type HostSectionData = z.infer<typeof HostSectionDataSchema>;
export type ChecksSectionData = z.infer<typeof ChecksSectionDataSchema>;
export type ModelsSectionData = z.infer<typeof ModelsSectionDataSchema>;
export type GuestsSectionData = z.infer<typeof GuestsSectionDataSchema>;
export type OvercommitSectionData = z.infer<typeof OvercommitSectionDataSchema>;
export type CheckId = z.infer<typeof CheckIdSchema>;
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The JSON Schema (draft 2020-12) published as docs/report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  return { $id: `https://kvcpu.dev/schema/${REPORT_SCHEMA_ID}.json`, ...z.toJSONSchema(ReportSchema, { target: 'draft-2020-12' }) } as Record<string, unknown>;
}
