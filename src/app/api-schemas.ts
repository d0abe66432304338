import { z } from 'zod';
import { PinPlanSchema } from '../plan/pin-plan.ts';
import { ErrorBodySchema as ReportErrorSchema } from './report-schema.ts';

/**
 * The agent's HTTP contract: request bodies (validated before anything runs) and the error
 * envelope. The OpenAPI document at /api/v1/openapi.json is generated from these with
 * z.toJSONSchema, so the document and the validation cannot drift apart.
 */

/**
 * CPU numbers accepted over the API. Input that is not about this host is bounded by a
 * documented maximum (Linux's CONFIG_NR_CPUS tops out at 8192 on x86_64): without a bound a
 * cpulist such as `0-4294967295` or `99999999999999999999` is a one-request denial of service.
 */
export const MAX_API_CPU = 8191;

function cpulistOk(s: string): boolean {
  for (const part of s.split(',')) {
    const m = /^\s*(\d{1,5})(?:-(\d{1,5})(?::(\d{1,5}))?)?\s*$/.exec(part);
    if (!m) return false;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (a > MAX_API_CPU || b > MAX_API_CPU || b < a || (m[3] !== undefined && Number(m[3]) < 1)) return false;
  }
  return true;
}

export const CpulistSchema = z
  .string()
  .min(1)
  .max(256)
  .refine(cpulistOk, { message: `a kernel cpulist (e.g. "0-3,8") of CPUs 0..${MAX_API_CPU}` })
  .describe('kernel cpulist, e.g. "2-3,8"');

/** A guest: its QEMU -name, or its pid. */
export const GuestRefSchema = z
  .union([
    z
      .string()
      .min(1)
      .max(256)
      // eslint-disable-next-line no-control-regex -- the point: refuse guest names with control characters
      .regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters'),
    z.number().int().positive().max(4194304),
  ])
  .describe('guest name (QEMU -name guest=X) or pid');

const PinOneSchema = z
  .object({
    guest: GuestRefSchema,
    vcpus: z
      .record(z.string().regex(/^\d{1,4}$/, 'a vCPU index'), CpulistSchema)
      .default({})
      .describe('vCPU index -> host CPUs'),
    emulator: CpulistSchema.optional().describe("the emulator threads' CPUs"),
    iothreads: z
      .record(
        z
          .string()
          .min(1)
          .max(64)
          .regex(/^[A-Za-z0-9_.-]+$/),
        CpulistSchema,
      )
      .default({})
      .describe('IOThread id -> host CPUs'),
  })
  .strict();

const PinCommon = {
  dryRun: z.boolean().default(false).describe('validate and return the equivalent commands; change nothing'),
  viaLibvirt: z.boolean().default(false).describe('libvirt domains: pin through virsh vcpupin/emulatorpin'),
  config: z.boolean().default(false).describe('with viaLibvirt: also persist in the domain XML'),
};

export const PinBodySchema = z
  .union([
    PinOneSchema.extend(PinCommon).strict(),
    z.object({ plan: PinPlanSchema.describe('a `kvcpu plan --json` pin plan: every guest in it, all or nothing'), ...PinCommon }).strict(),
  ])
  .describe('pin one guest (guest + vcpus/emulator/iothreads) or apply a whole pin plan');
export type PinBody = z.infer<typeof PinBodySchema>;

export const UnpinBodySchema = z.object({ guest: GuestRefSchema }).strict();
export type UnpinBody = z.infer<typeof UnpinBodySchema>;

export const HotplugBodySchema = z.object({ guest: GuestRefSchema, to: z.number().int().min(1).max(1024).describe('wanted vCPU count') }).strict();
export type HotplugBody = z.infer<typeof HotplugBodySchema>;

/** `POST /api/v1/plan`: the planner's guest specs (the `--guests FILE` JSON) and its options. */
export const PlanGuestSpecSchema = z
  .object({
    name: z.string().min(1).max(64).optional(),
    vcpus: z.union([z.number().int().min(1).max(1024), z.string().regex(/^\d{1,4}$/)]),
    memory: z
      .union([
        z
          .number()
          .int()
          .min(1)
          .max(16 * 1024 * 1024),
        z.string().regex(/^\d{1,8}$/),
      ])
      .optional(),
    policy: z.enum(['dedicated', 'shared', 'mixed']).optional(),
    threads: z.enum(['prefer', 'isolate', 'require']).optional(),
    emulator: z.enum(['share', 'isolate']).optional(),
    numa: z.union([z.number().int().min(1).max(64), z.literal('auto'), z.string().regex(/^\d{1,2}$/)]).optional(),
    l3: z.union([z.boolean(), z.enum(['true', 'false', 'yes', 'no', '1', '0'])]).optional(),
    mask: z
      .string()
      .max(256)
      .regex(/^\^?[\d,\-\s]*$/)
      .optional(),
    iothreads: z.union([z.number().int().min(0).max(64), z.string().regex(/^\d{1,2}$/)]).optional(),
  })
  .strict();

export const PlanBodySchema = z
  .object({
    guests: z.array(PlanGuestSpecSchema).min(1).max(256),
    reserved: CpulistSchema.optional().describe('housekeeping CPUs, never given to guests'),
    dedicatedSet: CpulistSchema.optional(),
    sharedSet: CpulistSchema.optional(),
    pinned: CpulistSchema.optional().describe('CPUs already claimed by pinned guests'),
    placement: z.enum(['spread', 'pack']).default('spread'),
    cpuRatio: z.number().positive().max(1024).default(4),
    ramRatio: z.number().positive().max(1024).default(1),
  })
  .strict();
export type PlanBody = z.infer<typeof PlanBodySchema>;

// The error object is the report's own (a skipped section carries the same shape).
export const ErrorBodySchema = z
  .object({ error: ReportErrorSchema.extend({ code: z.string().regex(/^E_[A-Z0-9_]+$/) }) })
  .describe('every error: a stable code (docs/errors.md), a message and a hint; never a stack trace');

/** Result of an action: what changed, per thread, before and after. */
export const ActionResultSchema = z
  .object({
    ok: z.literal(true),
    action: z.enum(['pin', 'unpin', 'hotplug']),
    dryRun: z.boolean().optional(),
    changes: z.array(
      z.object({
        guest: z.string(),
        pid: z.number(),
        tid: z.number().nullable(),
        what: z.string(),
        before: z.string().nullable(),
        after: z.string().nullable(),
      }),
    ),
  })
  .loose();
