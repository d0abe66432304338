import { z } from 'zod';
import { KvcpuError } from '../core/errors.ts';
import { CHECK_IDS } from '../check/check-ids.ts';
import { HostIdentitySchema, HostSnapshotSchema } from '../host/host-schema.ts';

// The host parts live with the host capability (its readers validate --host files with them).
export {
  HostCpuIdentitySchema,
  HostCpuSetsSchema,
  HostIdentitySchema,
  HostSnapshotSchema,
  HostTopologySchema,
  NumaNodeSchema,
  PerCpuRowSchema,
} from '../host/host-schema.ts';

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

// The ids live with the check capability (check/check-ids.ts), which types Check.id with them.
export { CHECK_IDS } from '../check/check-ids.ts';
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
  vcpuCountFrom: z.enum(['threads', 'cmdline']).optional().describe('cmdline: counted from -smp because the vCPU threads could not be told apart'),
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
  guests: z.array(
    z.object({
      pid: int,
      name: z.string(),
      vcpus: int,
      vcpusFrom: z.enum(['threads', 'cmdline']).optional(),
      maxCpus: int,
      pinnedCpus: cpulist.nullable(),
      oversized: z.boolean(),
    }),
  ),
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

/**
 * A report kvcpu itself built (CLI or agent) must match its own schema before any surface serves
 * it; a mismatch is a kvcpu bug, never the user's input.
 */
export function assertReport(doc: unknown): asserts doc is Report {
  const parsed = ReportSchema.safeParse(doc);
  if (parsed.success) return;
  throw new KvcpuError(
    'E_INTERNAL',
    `report does not match ${REPORT_SCHEMA_ID}: ${parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.')}: ${i.message}`)
      .join('; ')}`,
    { hint: 'this is a kvcpu bug: please report it with the command line you ran (or the agent request)' },
  );
}
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
  return { $id: `urn:${REPORT_SCHEMA_ID.replaceAll('/', ':')}`, ...z.toJSONSchema(ReportSchema, { target: 'draft-2020-12' }) } as Record<string, unknown>;
}

/** docs/report.schema.json as written by `npm run gen:schema` (stable key order, trailing newline). */
export function reportJsonSchemaText(): string {
  return JSON.stringify(reportJsonSchema(), null, 2) + '\n';
}
