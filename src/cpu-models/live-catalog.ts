import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import { kvmUsable } from '../check/probe-kvm.ts';
import { cachedProbe } from '../io/probe-cache.ts';
import { findQemu, qemuVersion } from '../qmp/qemu-env.ts';
import { accelFeaturesCodec, kvmFeaturesKey } from './kvm-features-cache.ts';
import { catalogVersions, loadCatalog } from './catalog.ts';
import { expandModel, featuresOn, normalizeUnavailable, probeQemuCatalog, queryCpuDefinitions, startCatalogQemu } from './probe-qemu-catalog.ts';
import { probeRefusedMsrs, probeTscScaling } from './probe-kvm-msrs.ts';
import { kvmFeaturesFromCpuinfo, tcgFeatures, type AccelFeatures } from './runnability.ts';
import type { Accel, QemuCatalog } from './types.ts';

/** `7.2.22` of the installed qemu-system-x86_64 (`--version`), null when absent. */
export function installedQemuVersion(binary = 'qemu-system-x86_64'): Promise<string | null> {
  return qemuVersion(binary);
}

/**
 * The catalog for the installed QEMU: the shipped snapshot when one matches its major.minor
 * (catalogs are per QEMU release), else probed live (~2 s), else the newest snapshot when QEMU is
 * absent. `source` says which.
 */
export async function loadLiveCatalog(): Promise<{ catalog: QemuCatalog; source: 'snapshot' | 'live' | 'snapshot-no-qemu'; installed: string | null }> {
  const installed = await installedQemuVersion();
  if (!installed) return { catalog: loadCatalog(), source: 'snapshot-no-qemu', installed };
  const mm = installed.split('.').slice(0, 2).join('.');
  if (catalogVersions().includes(mm)) return { catalog: loadCatalog(mm), source: 'snapshot', installed };
  return { catalog: await probeQemuCatalog(), source: 'live', installed };
}

/** Pick the accelerator users mean by default: KVM when it works here, else TCG. */
export async function defaultAccel(): Promise<Accel> {
  return (await kvmUsable()) ? 'kvm' : 'tcg';
}

/**
 * What the accelerator can give a guest on this host. TCG: fixed (catalog). KVM: QEMU's static
 * expansion of `host` under KVM when /dev/kvm works (exact: KVM_GET_SUPPORTED_CPUID), else an
 * estimate from /proc/cpuinfo (the host snapshot), flagged as such.
 */
export async function accelFeatures(accel: Accel, opts: { catalog?: QemuCatalog; host?: HostSnapshot; root?: string } = {}): Promise<AccelFeatures> {
  if (accel === 'tcg') return tcgFeatures(opts.catalog);
  const kvm = await kvmUsable();
  const qemu = findQemu();
  if ((opts.root ?? '/') === '/' && kvm && qemu !== null) {
    // ~0.4 s of QEMU per process: kept in the per-user probe cache, keyed by what it depends on.
    return cachedProbe('kvm-host-features', kvmFeaturesKey({ qemu }), probeKvmHostFeatures, accelFeaturesCodec);
  }
  const host = opts.host ?? readHost(opts.root ? { root: opts.root } : {});
  const est = kvmFeaturesFromCpuinfo(host.cpu.flags, host.cpu.vendor);
  if (!kvm) est.notes.push('/dev/kvm is absent or unusable on this machine: QEMU would refuse -accel kvm here');
  return est;
}

/** QEMU's static expansion of `host` under KVM, live (starts QEMU -accel kvm). */
async function probeKvmHostFeatures(): Promise<AccelFeatures> {
  const q = await startCatalogQemu({ accel: 'kvm' });
  try {
    const features = new Set(featuresOn(await expandModel(q, 'host', 'static')));
    // migratable=off adds what KVM gives only to non-migratable guests (invtsc...).
    const unmigratable = new Set(featuresOn(await expandModel(q, 'host', 'static', { migratable: false })).filter((f) => !features.has(f)));
    const refusedMsrs = probeRefusedMsrs();
    const tscScaling = probeTscScaling();
    const notes = refusedMsrs.length
      ? [
          `this KVM refuses non-zero values for MSR ${refusedMsrs.map((m) => `0x${m.toString(16)}`).join(', ')} (QEMU aborts when a guest CPU has those features)`,
        ]
      : [];
    if (!tscScaling) notes.push('this KVM cannot set a guest TSC frequency: tsc-frequency= makes QEMU fail at vCPU init');
    return { accel: 'kvm', source: 'qemu-live', exact: true, features, unmigratable, refusedMsrs, tscScaling, notes };
  } finally {
    await q.stop();
  }
}

/** QEMU's own `unavailable-features` per model for an accelerator (live; deduplicated). */
export async function liveUnavailable(accel: Accel): Promise<Record<string, string[]>> {
  const q = await startCatalogQemu({ accel });
  try {
    const defs = await queryCpuDefinitions(q);
    return Object.fromEntries(defs.map((d) => [d.name, normalizeUnavailable(d['unavailable-features'])]));
  } finally {
    await q.stop();
  }
}
