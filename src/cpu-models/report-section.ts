import { probeKvmCached } from '../check/probe-kvm.ts';
import { reportHost } from '../report/report-host.ts';
import type { ReportOptions, ReportSection } from '../report/types.ts';
import { cpuinfoFlagsToQemu } from './feature-names.ts';
import { accelFeatures, defaultAccel, loadLiveCatalog } from './live-catalog.ts';
import { modelRunnability } from './runnability.ts';
import { x86Level } from './x86-levels.ts';

/**
 * The `models` section of `kvcpu report`: which accelerator guests get here, this host's x86-64
 * level, and which named QEMU CPU models it can run (the short form of `kvcpu models --runnable`).
 * Captured trees get the KVM estimate from their cpuinfo (no live accelerator to ask).
 */
export async function collectModelsSection(opts: ReportOptions): Promise<ReportSection> {
  const host = reportHost(opts);
  if (host.arch !== 'x86_64' && host.arch !== 'i686') {
    const reason = `QEMU x86 CPU models do not apply to ${host.arch}`;
    return { id: 'models', title: 'CPU models', data: null, reason, text: `${reason}.\n`, status: 'skipped' };
  }
  // The same cached probe as the checks section's kvm.usable, so the two can never disagree.
  const kvmUsable = opts.live ? (await probeKvmCached()).usable : null;
  const accel = opts.live ? await defaultAccel() : 'kvm';
  const { catalog, source, installed } = await loadLiveCatalog();
  const supported = await accelFeatures(accel, { catalog, root: opts.root });
  const rows = modelRunnability(supported, catalog);
  // Named models only (the unversioned aliases users type); versions and specials are in `kvcpu models`.
  const named = rows.filter((r) => !/-v\d+$/.test(r.name) && !['base', 'host', 'max'].includes(r.name));
  const runnable = named.filter((r) => r.runnable).map((r) => r.name).sort((a, b) => a.localeCompare(b));
  const hostLevel = x86Level(cpuinfoFlagsToQemu(host.cpu.flags, host.cpu.vendor).qemu);
  const data = {
    accel,
    accelExact: supported.exact,
    kvmUsable,
    qemu: { catalog: catalog.qemu.version, installed, source },
    hostLevel: { level: hostLevel.level, missingForNext: hostLevel.missingForNext },
    runnable,
    notRunnable: named.filter((r) => !r.runnable).map((r) => ({ name: r.name, missing: r.unavailable })),
    notes: supported.notes,
  };
  const lines = [
    `Accelerator:        ${accel}${supported.exact ? '' : ' (estimate from /proc/cpuinfo)'}${opts.live && accel === 'tcg' ? ' (KVM not usable here: see kvm.usable)' : ''}`,
    `QEMU catalog:       ${catalog.qemu.version}${installed ? ` (installed ${installed})` : ' (QEMU not installed: shipped snapshot)'}`,
    `Host x86-64 level:  ${hostLevel.level ? `v${hostLevel.level}` : 'below v1'}${hostLevel.missingForNext.length ? ` (next level needs: ${hostLevel.missingForNext.join(' ')})` : ''}`,
    `Runnable models:    ${runnable.length} of ${named.length} named models${runnable.length ? `: ${runnable.join(' ')}` : ''}`,
    ...supported.notes.map((n) => `note: ${n}`),
    'Details: kvcpu models --runnable; kvcpu cpu explain MODEL; kvcpu cpu baseline for a pool.',
  ];
  return { id: 'models', title: 'CPU models', data, text: lines.join('\n') + '\n', status: 'ok' };
}
