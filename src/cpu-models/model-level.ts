import { explainCpu } from './cpu-string.ts';
import type { AccelFeatures } from './runnability.ts';
import type { QemuCatalog } from './types.ts';
import { x86Level, type LevelResult } from './x86-levels.ts';

/**
 * The x86-64 level a guest really gets from a model (or -cpu string) on an accelerator: the level
 * of the final feature set of `cpu explain` (QEMU's expansion for that accelerator: max/host are
 * the accelerator's set, unavailable features dropped by `check`). `models`, `cpu levels` and
 * `cpu explain` all use this one computation. Null when QEMU would not start the model at all
 * (`host` under TCG).
 */
export function modelLevel(cpu: string, supported: AccelFeatures, catalog: QemuCatalog, opts: { machine?: string } = {}): LevelResult | null {
  const ex = explainCpu(cpu.replace(/,(enforce|check)(=\w+)?$/, ''), { supported, catalog, ...(opts.machine ? { machine: opts.machine } : {}) });
  // A KVM that refuses an MSR's value (arch-capabilities under nested PVM) refuses the string, not
  // the level: the same model with those MSR features off starts with the same final set otherwise.
  if (ex.fails && !ex.qemuError?.startsWith('error: failed to set MSR')) return null;
  return x86Level(ex.final);
}
