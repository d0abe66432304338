import { accelFeatures, loadLiveCatalog } from '../cpu-models/live-catalog.ts';
import { modelFeaturesFor, unavailableFeatures } from '../cpu-models/runnability.ts';
import type { Accel } from '../cpu-models/types.ts';
import type { HypervisorContext } from './baseline-cpus.ts';
import { qemuToLibvirtName } from './feature-names.ts';

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
    const blockers = accel === 'tcg' && catalog.unavailableTcg[m.name] ? catalog.unavailableTcg[m.name]! : unavailableFeatures(modelFeaturesFor(m, accel), supported);
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
