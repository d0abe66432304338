import { isKvcpuError } from '../core/errors.ts';
import type { QemuCpuAnswer } from './ask-qemu-cpu.ts';
import { explainCpu } from './cpu-string.ts';
import type { AccelFeatures } from './runnability.ts';
import type { QemuCatalog } from './types.ts';

/** kvcpu's prediction for one `-cpu` string, in the shape the differential test compares. */
export interface KvcpuCpuOutcome {
  starts: boolean;
  /** Error code (E_CPU_FEATURE_UNKNOWN…, or `fails` for a realize-time refusal) and QEMU's predicted error line. */
  refusal?: { code: string; qemuError?: string };
  final?: string[];
  /** What QEMU's filter warns about (check or enforce mode); null when check=off (QEMU warns nothing). */
  filtered?: string[] | null;
  vendor?: string | null;
}

export function predictCpu(
  input: string,
  supported: AccelFeatures,
  catalog: QemuCatalog,
  opts: { machine?: string; hostVendor?: string | null } = {},
): KvcpuCpuOutcome {
  try {
    const ex = explainCpu(input, { supported, catalog, machine: opts.machine ?? 'pc', hostVendor: opts.hostVendor ?? null });
    const qemuError = (ex as { qemuError?: string }).qemuError;
    if (ex.fails) return { starts: false, refusal: { code: 'fails', ...(qemuError ? { qemuError } : {}) } };
    const vendor = (ex as { vendor?: string | null }).vendor ?? ex.model.vendor;
    return { starts: true, final: ex.final, filtered: ex.mode === 'silent' ? null : ex.unavailable, vendor };
  } catch (e) {
    if (!isKvcpuError(e)) throw e;
    const q = e.details?.qemuError;
    return { starts: false, refusal: { code: e.code, ...(typeof q === 'string' ? { qemuError: q } : {}) } };
  }
}

/** The class of a QEMU refusal line (compared when kvcpu predicts no exact text). */
export function refusalClass(text: string): string {
  if (/Property '.*' not found/.test(text)) return 'unknown-property';
  if (/^unable to find CPU model/.test(text)) return 'unknown-model';
  if (/doesn't support requested features$/.test(text)) return 'enforce';
  if (/requires KVM/.test(text)) return 'host-needs-kvm';
  if (/expects|doesn't take value|Invalid parameter type|is not a valid|bad numerical value/.test(text)) return 'bad-value';
  return 'other';
}

function kvcpuRefusalClass(r: { code: string; qemuError?: string }): string {
  if (r.qemuError) return refusalClass(r.qemuError);
  switch (r.code) {
    case 'E_CPU_FEATURE_UNKNOWN':
      return 'unknown-property';
    case 'E_CPU_MODEL_UNKNOWN':
      return 'unknown-model';
    case 'E_BAD_INPUT':
      return 'bad-value';
    case 'fails':
      return 'enforce';
    default:
      return 'other';
  }
}

export type DisagreementKind = 'kvcpu-starts-qemu-refuses' | 'qemu-starts-kvcpu-refuses' | 'different-refusal' | 'final-set' | 'filtered-set' | 'vendor';

export interface CpuComparison {
  agree: boolean;
  kind?: DisagreementKind;
  detail?: string;
}

const diff = (a: string[], b: string[]) => {
  const sa = new Set(a);
  const sb = new Set(b);
  return { onlyKvcpu: a.filter((x) => !sb.has(x)), onlyQemu: b.filter((x) => !sa.has(x)) };
};

/**
 * Compare kvcpu with QEMU: starts/refuses, the refusal (QEMU's exact line when kvcpu predicts
 * one, else its class), the final feature set (over the catalog's feature names), the set
 * QEMU's filter warned about, the vendor.
 */
export function compareCpu(k: KvcpuCpuOutcome, q: QemuCpuAnswer, catalogFeatures: string[]): CpuComparison {
  if (k.starts && !q.ok) return { agree: false, kind: 'kvcpu-starts-qemu-refuses', detail: q.error };
  if (!k.starts && q.ok) return { agree: false, kind: 'qemu-starts-kvcpu-refuses', detail: `${k.refusal?.code}: ${k.refusal?.qemuError ?? ''}` };
  if (!k.starts && !q.ok) {
    const qe = q.error ?? '';
    const same = k.refusal?.qemuError ? k.refusal.qemuError === qe : kvcpuRefusalClass(k.refusal!) === refusalClass(qe);
    return same
      ? { agree: true }
      : { agree: false, kind: 'different-refusal', detail: `kvcpu ${k.refusal?.code} ${k.refusal?.qemuError ?? kvcpuRefusalClass(k.refusal!)} | qemu ${qe}` };
  }
  const known = new Set(catalogFeatures);
  const fin = diff(
    (k.final ?? []).filter((f) => known.has(f)).sort(),
    (q.final ?? []).filter((f) => known.has(f)),
  );
  if (fin.onlyKvcpu.length || fin.onlyQemu.length)
    return { agree: false, kind: 'final-set', detail: `only kvcpu: ${fin.onlyKvcpu.join(' ')} | only qemu: ${fin.onlyQemu.join(' ')}` };
  if (k.filtered) {
    const fl = diff(
      k.filtered.filter((f) => known.has(f)),
      q.filtered.filter((f) => known.has(f)),
    );
    if (fl.onlyKvcpu.length || fl.onlyQemu.length)
      return { agree: false, kind: 'filtered-set', detail: `only kvcpu: ${fl.onlyKvcpu.join(' ')} | only qemu: ${fl.onlyQemu.join(' ')}` };
  }
  if ((k.vendor ?? null) !== (q.vendor ?? null)) return { agree: false, kind: 'vendor', detail: `kvcpu ${k.vendor} | qemu ${q.vendor}` };
  return { agree: true };
}
