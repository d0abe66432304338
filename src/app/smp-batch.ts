import { z } from 'zod';

const SMP_MSG = '"smp" must be a string (or an array of strings: several -smp options)';
const optString = (k: string) =>
  z
    .string({ error: `"${k}" must be a string` })
    .nullable()
    .optional();

/** One `kvcpu smp --batch` line: {"smp": SPEC | [SPEC...], "machine"?, "qemuVersion"?, "accel"?}. */
export const SmpBatchLineSchema = z.object(
  {
    smp: z.union([z.string(), z.array(z.string())], { error: SMP_MSG }),
    machine: optString('machine'),
    qemuVersion: optString('qemuVersion'),
    accel: z.enum(['tcg', 'kvm'], { error: '"accel" must be "tcg" or "kvm"' }).optional(),
  },
  { error: 'line must be a JSON object {"smp": SPEC, "machine"?: TYPE, "qemuVersion"?: V}' },
);

export interface SmpBatchLine {
  smp: string | string[];
  machine?: string;
  qemuVersion?: string;
  accel?: 'tcg' | 'kvm';
}

/** Parse one batch line; a string is the message of a bad line (the CLI prints it as E_BAD_JSON in place). */
export function parseSmpBatchLine(text: string): SmpBatchLine | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `line is not valid JSON: ${(e as Error).message}`;
  }
  const r = SmpBatchLineSchema.safeParse(v);
  if (!r.success) return r.error.issues[0]?.message ?? 'bad line';
  const o = r.data;
  return {
    smp: o.smp,
    ...(typeof o.machine === 'string' ? { machine: o.machine } : {}),
    ...(typeof o.qemuVersion === 'string' ? { qemuVersion: o.qemuVersion } : {}),
    ...(o.accel ? { accel: o.accel } : {}),
  };
}
