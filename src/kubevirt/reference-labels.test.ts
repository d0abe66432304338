// KubeVirt labels on the shared reference set: the 64 real CPUs (libvirt's expected host-model =
// what domcapabilities reports there) and the 67 host captures (/proc path with kvcpu's catalog).
// The expected answers are derived here from KubeVirt v1.9.0's rules (node_labeller.go
// prepareLabels, cpu_plugin.go loadDomCapabilities/filterCpuModels) and libvirt 9.0's cpu_map as
// JSON (../shared/reference/cpu/libvirt-9.0-cpu-map.json), not from kvcpu's own tables.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCpuMap } from '../cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../cpu-baseline/x86-map.ts';
import { haveReference, readRef, REF_DIR, SKIP_REASON } from '../cpu-baseline/reference.test-helpers.ts';
import { kubevirtNodeLabels } from './node-labels.ts';
import { parseDomCapabilities } from './parse-libvirt-caps.ts';
import { expandHostModel, readLabelInputs } from './read-label-inputs.ts';
import { KUBEVIRT_OBSOLETE_MODELS } from '../../test/support/kubevirt-obsolete.ts';

const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
const OBSOLETE = KUBEVIRT_OBSOLETE_MODELS;
const keys = (l: Record<string, string>, prefix: string) =>
  Object.keys(l)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');

interface RefCpu {
  name: string;
  features_libvirt: string[];
  libvirt_expected?: { host_model?: { model: string; vendor?: string; require?: string[]; disable?: string[] } } | null;
}

describe.skipIf(!haveReference)(`real CPUs: labels from libvirt's expected host-model (${haveReference ? 'reference' : SKIP_REASON})`, () => {
  const map = haveReference ? readRef<{ models: { name: string; features: string[] }[] }>('libvirt-9.0-cpu-map.json') : { models: [] };
  const cpus = haveReference ? readRef<{ cpus: RefCpu[] }>('real-cpus.json').cpus.filter((c) => c.libvirt_expected?.host_model) : [];
  const counted = { cases: 0, models: 0, usable: 0, obsoleteHost: 0, features: 0 };

  it.each(cpus.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const hm = c.libvirt_expected!.host_model!;
    const have = new Set(c.features_libvirt);
    // The custom models as libvirt would mark them on that CPU: usable when the CPU has every
    // feature of the model (QEMU's unavailable-features empty).
    const models = map.models.map((m) => ({ name: m.name, usable: m.features.every((f) => have.has(f)) }));
    const xml = `<domainCapabilities><arch>x86_64</arch><cpu>
<mode name='host-model' supported='yes'><model fallback='forbid'>${esc(hm.model)}</model>${hm.vendor ? `<vendor>${esc(hm.vendor)}</vendor>` : ''}
${(hm.require ?? []).map((f) => `<feature policy='require' name='${esc(f)}'/>`).join('')}${(hm.disable ?? []).map((f) => `<feature policy='disable' name='${esc(f)}'/>`).join('')}</mode>
<mode name='custom' supported='yes'>${models.map((m) => `<model usable='${m.usable ? 'yes' : 'no'}'>${esc(m.name)}</model>`).join('')}</mode></cpu></domainCapabilities>`;
    const dc = parseDomCapabilities(xml, c.name);
    const { labels } = kubevirtNodeLabels({
      domCapabilities: dc,
      supportedFeatures: expandHostModel(x, dc),
      counter: null,
      machines: [],
      hyperv: null,
      realtime: null,
    });
    // host-model labels: the model, its vendor, the required features only.
    expect(keys(labels, 'host-model-cpu.node.kubevirt.io/')).toEqual([hm.model]);
    expect(keys(labels, 'cpu-vendor.node.kubevirt.io/')).toEqual([hm.vendor ?? '']);
    expect(keys(labels, 'host-model-required-features.node.kubevirt.io/')).toEqual([...new Set(hm.require ?? [])].sort());
    expect(labels['node-labeller.kubevirt.io/obsolete-host-model']).toBe(OBSOLETE.has(hm.model) ? 'true' : undefined);
    // cpu-feature: hypervisor-cpu-baseline --features = the model's cpu_map features + required - disabled.
    const modelFeatures = map.models.find((m) => m.name === hm.model)!.features;
    const disabled = new Set(hm.disable ?? []);
    const expected = [...new Set([...modelFeatures, ...(hm.require ?? [])])].filter((f) => !disabled.has(f)).sort();
    expect(keys(labels, 'cpu-feature.node.kubevirt.io/')).toEqual(expected);
    // Models: usable and known, minus the obsolete ones.
    expect(keys(labels, 'cpu-model.node.kubevirt.io/')).toEqual(
      models
        .filter((m) => m.usable && !OBSOLETE.has(m.name))
        .map((m) => m.name)
        .sort(),
    );
    expect(keys(labels, 'cpu-model-migration.node.kubevirt.io/')).toEqual(
      models
        .filter((m) => !OBSOLETE.has(m.name))
        .map((m) => m.name)
        .sort(),
    );
    counted.cases++;
    counted.models += models.length;
    counted.usable += keys(labels, 'cpu-model.node.kubevirt.io/').length;
    counted.features += expected.length;
    if (OBSOLETE.has(hm.model)) counted.obsoleteHost++;
  });

  it('counted: every real CPU with a libvirt host-model, asymmetric in usable models', () => {
    expect(counted.cases).toBe(51);
    expect(counted.models).toBe(51 * map.models.length);
    // Not all usable, not none: the fixtures exercise both branches.
    expect(counted.usable).toBeGreaterThan(51);
    expect(counted.usable).toBeLessThan(counted.models / 2);
  });
});

const hostsDir = path.resolve(REF_DIR, '../hosts/cases');
const readRefHosts = () => JSON.parse(readFileSync(path.resolve(REF_DIR, '../hosts/index.json'), 'utf8')) as { id: string; arch: string }[];
const haveHosts = existsSync(hostsDir);

describe.skipIf(!haveHosts)("host captures: the /proc path with kvcpu's catalog", () => {
  const cases = haveHosts ? readdirSync(hostsDir).sort() : [];
  // The capture's architecture as the reference index records it (uname -m of the captured machine).
  const archOf = new Map<string, string>(haveHosts ? readRefHosts().map((r) => [r.id, r.arch]) : []);
  const tally = { x86: 0, refused: 0, usableModels: 0 };
  const vendorOf: Record<string, string> = { GenuineIntel: 'Intel', AuthenticAMD: 'AMD', HygonGenuine: 'Hygon' };

  it.each(cases)('%s', async (id) => {
    const root = path.join(hostsDir, id, 'root');
    const cpuinfo = readFileSync(path.join(root, 'proc/cpuinfo'), 'utf8');
    const vendorId = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
    if (archOf.get(id) !== 'x86_64') {
      // KubeVirt's amd64 labeller only: other architectures (and i686 kernels) are refused.
      await expect(readLabelInputs(x, { root })).rejects.toMatchObject({ code: 'E_KUBEVIRT_ARCH' });
      tally.refused++;
      return;
    }
    const inputs = await readLabelInputs(x, { root });
    expect(inputs.source).toBe('proc');
    const { labels, hostModel } = kubevirtNodeLabels(inputs);
    const models = keys(labels, 'cpu-model.node.kubevirt.io/');
    const known = keys(labels, 'cpu-model-migration.node.kubevirt.io/');
    // filterCpuModels: no obsolete model in either list; usable ⊆ known.
    expect([...models, ...known].filter((m) => OBSOLETE.has(m))).toEqual([]);
    expect(models.filter((m) => !known.includes(m))).toEqual([]);
    // One host-model, its vendor = the capture's CPUID vendor, obsolete label iff obsolete.
    expect(keys(labels, 'host-model-cpu.node.kubevirt.io/')).toEqual([hostModel]);
    expect(keys(labels, 'cpu-vendor.node.kubevirt.io/')).toEqual([vendorOf[vendorId!] ?? '']);
    expect(labels['node-labeller.kubevirt.io/obsolete-host-model']).toBe(OBSOLETE.has(hostModel!) ? 'true' : undefined);
    // Required host-model features are among the supported (expanded) features.
    const feats = new Set(keys(labels, 'cpu-feature.node.kubevirt.io/'));
    expect(keys(labels, 'host-model-required-features.node.kubevirt.io/').filter((f) => !feats.has(f))).toEqual([]);
    // A usable model's features are all features of the host-model expansion or the host CPU:
    // at least, nothing the capture's cpuinfo lacks among the basic flags.
    for (const m of models)
      for (const f of x.modelByName.get(m)!.def.features)
        if (['sse4_2', 'avx', 'avx2', 'avx512f'].includes(f.replace('.', '_'))) expect(cpuinfo).toMatch(new RegExp(`\\b${f.replace('.', '_')}\\b`));
    // The realtime label follows the capture's sysctl (none captured: unknown, no label).
    expect(labels['kubevirt.io/realtime']).toBeUndefined();
    tally.x86++;
    tally.usableModels += models.length;
  });

  it('counted: 67 captures, x86_64 ones labelled, the others refused', () => {
    expect(tally.x86 + tally.refused).toBe(67);
    // index.json: 39 x86_64; 28 others (s390x, i686, aarch64, ppc64, riscv64, ...).
    expect(tally.x86).toBe(39);
    expect(tally.refused).toBe(28);
    expect(tally.usableModels).toBeGreaterThan(0);
  });
});
