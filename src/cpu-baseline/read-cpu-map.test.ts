import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCpuMap } from './parse-cpu-map.ts';
import { LIBVIRT_CPU_MAP_DIR, loadCpuMap, readInstalledCpuMap, readSnapshotCpuMap } from './read-cpu-map.ts';
import { haveReference, readRef } from './reference.test-helpers.ts';

const snapshot = readSnapshotCpuMap();

describe('libvirt CPU map', () => {
  it('snapshot records its libvirt version and has the 9.0 x86 map', () => {
    expect(snapshot.source.libvirt).toMatch(/9\.0\.0/);
    expect(snapshot.vendors.map((v) => v.name)).toEqual(['Intel', 'AMD', 'Hygon']);
    expect(snapshot.features).toHaveLength(212);
    expect(snapshot.models).toHaveLength(58);
    expect(snapshot.features.filter((f) => !f.migratable).map((f) => f.name)).toEqual(['xsaves', 'invtsc']);
    const epyc = snapshot.models.find((m) => m.name === 'EPYC')!;
    expect(epyc.removed).toEqual(['monitor']);
    expect(epyc.features).not.toContain('monitor');
    expect(snapshot.models.find((m) => m.name === 'Skylake-Client-noTSX-IBRS')!.decode).toEqual({ host: true, guest: false });
    expect(snapshot.features.find((f) => f.name === 'mds-no')!.msr).toEqual({ index: 0x10a, reg: 'eax', mask: 0x20 });
  });

  it.skipIf(!existsSync(join(LIBVIRT_CPU_MAP_DIR, 'index.xml')))('installed map parses to the snapshot (regenerate when libvirt changes)', () => {
    const live = readInstalledCpuMap(LIBVIRT_CPU_MAP_DIR);
    expect({ ...live, source: null }).toEqual({ ...snapshot, source: null });
    expect(loadCpuMap({ source: 'auto' }).source.path).toBe(LIBVIRT_CPU_MAP_DIR);
    expect(loadCpuMap({ source: 'snapshot' }).source.libvirt).toBe(snapshot.source.libvirt);
  });

  it.skipIf(!haveReference)('agrees with the reference libvirt 9.0 map (names, order, model features)', () => {
    const ref = readRef('libvirt-9.0-cpu-map.json');
    expect(snapshot.features.map((f) => f.name)).toEqual(ref.features.map((f: any) => f.name));
    expect(snapshot.models.map((m) => m.name)).toEqual(ref.models.map((m: any) => m.name));
    for (const [i, m] of snapshot.models.entries()) {
      expect(new Set(m.features), m.name).toEqual(new Set(ref.models[i].features));
      expect(m.vendor, m.name).toBe(ref.models[i].vendor ?? null);
    }
  });

  it('supports <model name=...> inheritance and rejects unknown features', () => {
    const files: Record<string, string> = {
      'index.xml': "<cpus><arch name='x86'><include filename='f.xml'/><include filename='a.xml'/><include filename='b.xml'/></arch></cpus>",
      'f.xml':
        "<cpus><feature name='fpu'><cpuid eax_in='0x01' edx='0x00000001'/></feature><feature name='vme'><cpuid eax_in='0x01' edx='0x00000002'/></feature></cpus>",
      'a.xml':
        "<cpus><model name='A'><decode host='on' guest='on'/><signature family='6' model='1'/><vendor name='Intel'/><feature name='fpu'/></model></cpus>",
      'b.xml': "<cpus><model name='B'><decode host='on' guest='off'/><model name='A'/><feature name='vme'/></model></cpus>",
    };
    const m = parseCpuMap((f) => files[f]!, { libvirt: 't', path: 't', generatedBy: 't' });
    expect(m.models[1]).toMatchObject({ name: 'B', vendor: 'Intel', parent: 'A', features: ['fpu', 'vme'], signatures: [{ family: 6, model: 1 }] });
    files['b.xml'] = "<cpus><model name='B'><decode host='on' guest='on'/><feature name='nope'/></model></cpus>";
    expect(() => parseCpuMap((f) => files[f]!, { libvirt: 't', path: 't', generatedBy: 't' })).toThrowError(/nope/);
  });
});
