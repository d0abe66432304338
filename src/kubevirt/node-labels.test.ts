import { describe, expect, it } from 'vitest';
import { KvcpuError } from '../core/errors.ts';
import { loadCpuMap } from '../cpu-baseline/read-cpu-map.ts';
import { indexCpuMap } from '../cpu-baseline/x86-map.ts';
import { DEFAULT_OBSOLETE_CPU_MODELS, kubevirtNodeLabels, type NodeLabelInput } from './node-labels.ts';
import { parseCapabilities, parseDomCapabilities, parseSupportedFeatures } from './parse-libvirt-caps.ts';
import { expandHostModel } from './read-label-inputs.ts';

const x = indexCpuMap(loadCpuMap({ source: 'auto' }));

// An Intel host: host-model Skylake-Client-IBRS with required and disabled features; custom models
// usable yes / no / unknown, one without a usable attribute, obsolete ones usable and not.
const DOMCAPS = `<domainCapabilities>
  <path>/usr/bin/qemu-system-x86_64</path>
  <domain>kvm</domain>
  <machine>pc-q35-7.2</machine>
  <arch>x86_64</arch>
  <cpu>
    <mode name='host-passthrough' supported='yes'/>
    <mode name='host-model' supported='yes'>
      <model fallback='forbid'>Skylake-Client-IBRS</model>
      <vendor>Intel</vendor>
      <feature policy='require' name='ss'/>
      <feature policy='require' name='vmx'/>
      <feature policy='require' name='pdcm'/>
      <feature policy='disable' name='hle'/>
      <feature policy='disable' name='rtm'/>
    </mode>
    <mode name='custom' supported='yes'>
      <model usable='yes' vendor='Intel'>Haswell-noTSX</model>
      <model usable='no' vendor='Intel'>Cascadelake-Server</model>
      <model usable='unknown' vendor='Intel'>Broadwell-noTSX</model>
      <model vendor='Intel'>Westmere</model>
      <model usable='yes' vendor='unknown'>kvm64</model>
      <model usable='yes' vendor='Intel'>Conroe</model>
      <model usable='no' vendor='AMD'>Opteron_G2</model>
      <model usable='yes' vendor='Intel'>Penryn</model>
      <model usable='no' vendor='AMD'>EPYC</model>
    </mode>
  </cpu>
  <features>
    <sev supported='yes'><cbitpos>47</cbitpos><maxGuests>15</maxGuests><maxESGuests>0</maxESGuests></sev>
  </features>
</domainCapabilities>`;

const CAPS = (scaling: string, name = 'tsc') => `<capabilities>
  <host><cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model>
    <counter name='${name}' frequency='2095999000' scaling='${scaling}'/>
  </cpu></host>
  <guest><os_type>hvm</os_type><arch name='x86_64'><machine maxCpus='288'>pc-q35-7.2</machine><machine canonical='pc-q35-7.2' maxCpus='288'>q35</machine></arch></guest>
  <guest><os_type>hvm</os_type><arch name='i686'><machine maxCpus='255'>pc-i440fx-7.2</machine><machine maxCpus='288'>q35</machine></arch></guest>
</capabilities>`;

function input(over: Partial<NodeLabelInput> = {}, domcaps = DOMCAPS, caps = CAPS('no')): NodeLabelInput {
  const dc = parseDomCapabilities(domcaps, 'domcaps.xml');
  const c = parseCapabilities(caps, 'caps.xml');
  return { domCapabilities: dc, supportedFeatures: expandHostModel(x, dc), counter: c.counter, machines: c.machines, hyperv: null, realtime: false, ...over };
}

const keys = (l: Record<string, string>, prefix: string) =>
  Object.keys(l)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();

describe('KubeVirt v1.9.0 node labels from domcapabilities', () => {
  const { labels, hostModel, notes } = kubevirtNodeLabels(input());

  it('cpu-model: usable models (usable != no, so unknown counts), without the obsolete ones', () => {
    expect(keys(labels, 'cpu-model.node.kubevirt.io/')).toEqual(['Broadwell-noTSX', 'Haswell-noTSX', 'Penryn']);
  });
  it('cpu-model-migration: every model with a usable attribute, usable or not, minus obsolete ones', () => {
    expect(keys(labels, 'cpu-model-migration.node.kubevirt.io/')).toEqual(['Broadwell-noTSX', 'Cascadelake-Server', 'EPYC', 'Haswell-noTSX', 'Penryn']);
    // The host-model's <model fallback='forbid'> and Westmere have no usable attribute: loadDomCapabilities skips them.
    expect(labels['cpu-model-migration.node.kubevirt.io/Westmere']).toBeUndefined();
  });
  it('host-model: model, vendor, only the required features, not the disabled ones', () => {
    expect(hostModel).toBe('Skylake-Client-IBRS');
    expect(labels['host-model-cpu.node.kubevirt.io/Skylake-Client-IBRS']).toBe('true');
    expect(labels['cpu-vendor.node.kubevirt.io/Intel']).toBe('true');
    expect(keys(labels, 'host-model-required-features.node.kubevirt.io/')).toEqual(['pdcm', 'ss', 'vmx']);
    expect(labels['node-labeller.kubevirt.io/obsolete-host-model']).toBeUndefined();
  });
  it('cpu-feature: the host-model expanded (model features + required - disabled), policy require only', () => {
    const f = keys(labels, 'cpu-feature.node.kubevirt.io/');
    const model = x.modelByName.get('Skylake-Client-IBRS')!;
    expect(f).toContain('vmx');
    expect(f).toContain('avx2'); // from the model
    expect(f).not.toContain('hle'); // the model has it, host-model disables it
    expect(f).not.toContain('rtm');
    expect(f.length).toBe(new Set([...model.def.features, 'ss', 'vmx', 'pdcm'].filter((n) => n !== 'hle' && n !== 'rtm')).size);
  });
  it("tsc: frequency and scalable=false, plus virt-controller's own-frequency scheduling label", () => {
    expect(labels['cpu-timer.node.kubevirt.io/tsc-frequency']).toBe('2095999000');
    expect(labels['cpu-timer.node.kubevirt.io/tsc-scalable']).toBe('false');
    expect(labels['scheduling.node.kubevirt.io/tsc-frequency-2095999000']).toBe('true');
  });
  it("machine types: every guest arch's machines, once each", () => {
    expect(keys(labels, 'machine-type.node.kubevirt.io/')).toEqual(['pc-i440fx-7.2', 'pc-q35-7.2', 'q35']);
  });
  it('SEV without ES guests: sev only', () => {
    expect(labels['kubevirt.io/sev']).toBe('true');
    expect(labels['kubevirt.io/sev-es']).toBeUndefined();
    expect(labels['kubevirt.io/sev-snp']).toBeUndefined();
  });
  it('says what it could not compute (hyperv not probed)', () => {
    expect(notes.join('\n')).toMatch(/Hyper-V/);
    expect(Object.keys(labels).some((k) => k.startsWith('hyperv.'))).toBe(false);
    expect(labels['kubevirt.io/realtime']).toBeUndefined();
  });
});

describe('asymmetric inputs', () => {
  it('tsc scaling=yes → tsc-scalable=true; a non-tsc counter → no timer labels', () => {
    expect(kubevirtNodeLabels(input({}, DOMCAPS, CAPS('yes'))).labels['cpu-timer.node.kubevirt.io/tsc-scalable']).toBe('true');
    const other = kubevirtNodeLabels(input({}, DOMCAPS, CAPS('yes', 'hpet'))).labels;
    expect(Object.keys(other).filter((k) => k.startsWith('cpu-timer.') || k.startsWith('scheduling.'))).toEqual([]);
  });
  it('an obsolete host-model sets obsolete-host-model and still labels host-model-cpu', () => {
    const dc = DOMCAPS.replace('>Skylake-Client-IBRS<', '>kvm64<');
    const l = kubevirtNodeLabels(input({}, dc)).labels;
    expect(l['node-labeller.kubevirt.io/obsolete-host-model']).toBe('true');
    expect(l['host-model-cpu.node.kubevirt.io/kvm64']).toBe('true');
  });
  it("the CR's obsoleteCPUModels replaces the default list (kvm64 and Conroe come back, Penryn goes)", () => {
    const l = kubevirtNodeLabels(input({ obsoleteModels: ['Penryn'] })).labels;
    expect(keys(l, 'cpu-model.node.kubevirt.io/')).toEqual(['Broadwell-noTSX', 'Conroe', 'Haswell-noTSX', 'kvm64']);
    expect(l['cpu-model-migration.node.kubevirt.io/Opteron_G2']).toBe('true');
  });
  it('SEV-ES with maxESGuests > 0, SNP only with launchSecurity sev-snp; TDX', () => {
    const es = DOMCAPS.replace('<maxESGuests>0<', '<maxESGuests>4<');
    expect(Object.keys(kubevirtNodeLabels(input({}, es)).labels).filter((k) => k.startsWith('kubevirt.io/'))).toEqual([
      'kubevirt.io/sev',
      'kubevirt.io/sev-es',
    ]);
    const snp = es.replace(
      '</features>',
      "<launchSecurity supported='yes'><enum name='sectype'><value>sev</value><value>sev-snp</value></enum></launchSecurity><tdx supported='yes'/></features>",
    );
    expect(Object.keys(kubevirtNodeLabels(input({}, snp)).labels).filter((k) => k.startsWith('kubevirt.io/'))).toEqual([
      'kubevirt.io/sev',
      'kubevirt.io/sev-es',
      'kubevirt.io/sev-snp',
      'kubevirt.io/tdx',
    ]);
  });
  it('realtime only when sched_rt_runtime_us is -1; hyperv labels when given', () => {
    const l = kubevirtNodeLabels(input({ realtime: true, hyperv: ['base', 'synic'] })).labels;
    expect(l['kubevirt.io/realtime']).toBe('true');
    expect(keys(l, 'hyperv.node.kubevirt.io/')).toEqual(['base', 'synic']);
  });
  it('supported features from hypervisor-cpu-baseline: only policy require becomes a label', () => {
    const sf = parseSupportedFeatures(
      "<cpu mode='custom' match='exact'><model>Penryn</model><feature policy='require' name='sse4.1'/><feature policy='disable' name='pni'/><feature name='x2apic'/></cpu>",
      'sf.xml',
    );
    expect(keys(kubevirtNodeLabels(input({ supportedFeatures: sf })).labels, 'cpu-feature.node.kubevirt.io/')).toEqual(['sse4.1']);
  });
  it("the default obsolete list is KubeVirt's 17 models with their -v1 aliases", () => {
    expect(DEFAULT_OBSOLETE_CPU_MODELS.length).toBe(34);
    expect(DEFAULT_OBSOLETE_CPU_MODELS).toContain('Opteron_G2-v1');
    expect(DEFAULT_OBSOLETE_CPU_MODELS).not.toContain('Opteron_G3');
  });
  it('refuses XML with a DOCTYPE internal subset and documents that are not domcapabilities', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as KvcpuError).code;
      }
      return 'no error';
    };
    expect(code(() => parseDomCapabilities('<!DOCTYPE d [<!ENTITY a "b">]><domainCapabilities/>', 'x'))).toBe('E_BAD_XML');
    expect(code(() => parseDomCapabilities('<capabilities/>', 'x'))).toBe('E_BAD_XML');
    expect(code(() => parseCapabilities("<capabilities><host><cpu><counter name='tsc' frequency='fast'/></cpu></host></capabilities>", 'x'))).toBe('E_BAD_XML');
  });
});
