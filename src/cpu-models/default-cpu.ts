import { loadCatalog } from './catalog.ts';
import { explainCpu } from './cpu-string.ts';
import type { AccelFeatures } from './runnability.ts';
import type { QemuCatalog } from './types.ts';

export interface DefaultCpu {
  /** The -cpu string to use. */
  cpu: string;
  /** One sentence for the user: which model, and why. */
  reason: string;
  /** Features of qemu64 the accelerator lacks (dropped explicitly), empty when it runs as is. */
  dropped: string[];
}

/**
 * The -cpu a guest gets when the user names none. QEMU's own default is qemu64 (vendor-neutral,
 * migratable everywhere), but under an accelerator that lacks one of its features QEMU starts it
 * with the feature silently filtered ("warning: host doesn't support requested feature") and
 * refuses it with `enforce`; `kvcpu models` then calls it not runnable. So: qemu64 when it is
 * runnable under this accelerator, else qemu64 with exactly the unavailable features turned off,
 * which is what QEMU would give anyway, now stated and runnable with `enforce` (checked by
 * explainCpu, the same rule as `kvcpu cpu explain`).
 */
export function chooseDefaultCpu(supported: AccelFeatures, catalog: QemuCatalog = loadCatalog()): DefaultCpu {
  const plain = explainCpu('qemu64,enforce', { supported, catalog });
  if (!plain.fails) {
    return { cpu: 'qemu64', reason: `-cpu qemu64 (QEMU's default; runnable under ${supported.accel} here)`, dropped: [] };
  }
  const dropped = [...plain.unavailable].sort();
  const cpu = `qemu64,${dropped.map((f) => `-${f}`).join(',')}`;
  const check = explainCpu(`${cpu},enforce`, { supported, catalog });
  if (check.fails) {
    // Cannot happen for a plain model minus its unavailable features; say so rather than guess.
    return { cpu: 'qemu64', reason: `-cpu qemu64 (not runnable under ${supported.accel} here: lacks ${check.unavailable.join(' ')})`, dropped: [] };
  }
  return {
    cpu,
    reason: `-cpu ${cpu} (QEMU's default qemu64 is not runnable under ${supported.accel} here: ${supported.accel} lacks ${dropped.join(' ')}; give --cpu to choose another model)`,
    dropped,
  };
}
