import { z } from 'zod';
import { MAX_CPUS } from '../core/cpulist.ts';

/**
 * The pin plan file: what `kvcpu plan` writes and `kvcpu pin --plan FILE` / `kvcpu launch --pin`
 * read. One entry per guest; CPU sets are kernel cpulists.
 */
export const PinPlanGuestSchema = z.object({
  /** Guest name (QEMU -name guest=X) or pid as a string. */
  name: z.string().min(1),
  /** vCPU index -> host CPU list (usually one CPU for dedicated, a set for shared vCPUs). */
  vcpus: z.record(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .refine((k) => Number(k) < MAX_CPUS, `vCPU index past ${MAX_CPUS - 1}`),
    z.string().min(1),
  ),
  /** Emulator (main/worker) threads' CPUs, null = leave alone. */
  emulator: z.string().min(1).nullable().default(null),
  /** IOThread id -> CPUs. */
  iothreads: z.record(z.string(), z.string().min(1)).default({}),
  /** Guest topology that mirrors the placement (hand to the topology renderer). */
  topology: z
    .object({
      sockets: z.number().int().positive(),
      dies: z.number().int().positive().default(1),
      clusters: z.number().int().positive().default(1),
      cores: z.number().int().positive(),
      threads: z.number().int().positive(),
    })
    .optional(),
});

export const PinPlanSchema = z.object({
  kind: z.literal('kvcpu-pin-plan'),
  version: z.literal(1),
  guests: z.array(PinPlanGuestSchema),
});

export type PinPlan = z.infer<typeof PinPlanSchema>;
export type PinPlanGuest = z.infer<typeof PinPlanGuestSchema>;
