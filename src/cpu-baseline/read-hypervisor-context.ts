import { accelFeatures, loadLiveCatalog } from '../cpu-models/live-catalog.ts';
import { modelFeaturesFor, unavailableFeatures } from '../cpu-models/runnability.ts';
import type { Accel } from '../cpu-models/types.ts';
import type { HypervisorContext } from './baseline-cpus.ts';
import { qemuToLibvirtName } from './feature-names.ts';
import { emptyCpuDef, type CpuDef } from './cpu-def.ts';
import type { X86Map } from './x86-map.ts';
import { readHost } from '../host/read-host.ts';

/**
 * The hypervisor context of `virsh hypervisor-cpu-baseline` built from kvcpu's QEMU catalog
 * (src/cpu-models): QEMU's feature names, every model with its blockers (the model's features the
 * accelerator cannot give: QEMU's `unavailable-features`), and QEMU's non-migratable features
 * (QEMU 7.2 marks only invtsc, and only under KVM). Names are translated to libvirt spellings.
 */
export async function readHypervisorContext(accel: Accel, root = '/'): Promise<HypervisorContext & { notes: string[]; source: string }> {
  const { catalog, source } = await loadLiveCatalog();
  const supported = await accelFeatures(accel, { catalog, root });
  const models = new Map<string, string[]>();
  for (const m of catalog.models) {
    if (m.kind === 'special') continue;
    const blockers =
      accel === 'tcg' && catalog.unavailableTcg[m.name] ? catalog.unavailableTcg[m.name]! : unavailableFeatures(modelFeaturesFor(m, accel), supported);
    models.set(m.name, blockers.map(qemuToLibvirtName));
  }
  return {
    features: catalog.features.map(qemuToLibvirtName),
    models,
    nonMigratable: accel === 'kvm' ? ['invtsc'] : [],
    notes: supported.notes,
    source: `QEMU ${catalog.qemu.version} (${source}), ${accel}${supported.exact ? '' : ', estimated'}`,
  };
}

/** CPUID vendor string → libvirt vendor name. */
function libvirtVendor(cpuid: string | null | undefined): string | null {
  return cpuid === 'GenuineIntel' ? 'Intel' : cpuid === 'AuthenticAMD' ? 'AMD' : cpuid === 'HygonGenuine' ? 'Hygon' : null;
}

/**
 * The CPU this host's QEMU can give a guest under `accel`, as a libvirt host CPU: what
 * `virsh hypervisor-cpu-compare` compares a guest against (domcapabilities' host-model, which
 * libvirt builds from QEMU's expansion of `max` or `host`). TCG: QEMU's fixed `max` set, vendor
 * AMD (QEMU's TCG `max`); KVM: QEMU's `host` expansion when /dev/kvm works, else estimated from
 * /proc/cpuinfo (flagged in `notes`).
 */
export async function readHypervisorHostCpu(x: X86Map, accel: Accel, root = '/'): Promise<CpuDef> {
  const { catalog, source } = await loadLiveCatalog();
  const supported = await accelFeatures(accel, { catalog, root });
  const def = emptyCpuDef(`QEMU ${catalog.qemu.version} ${accel} on this host`, 'kvcpu-json', 'host');
  const max = catalog.models.find((m) => m.name === 'max');
  def.vendor = accel === 'tcg' ? libvirtVendor(max?.vendor) : libvirtVendor(readHost(root === '/' ? {} : { root }).cpu.vendor);
  def.features = [...new Set([...supported.features].map(qemuToLibvirtName))]
    .filter((f) => x.featureIndex.has(f))
    .map((name) => ({ name, policy: 'require' as const }));
  def.notes = [`hypervisor CPU from kvcpu's QEMU catalog (${source})${supported.exact ? '' : ', estimated'}`, ...supported.notes];
  return def;
}
