import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseSmp } from '../smp/parse-smp.ts';
import type { GuestTopology } from '../smp/types.ts';
import { renderTopology, renderTopologyDetailed } from './render-topology.ts';

function topo(spec: string, machine?: string, qemuVersion?: string): GuestTopology {
  const r = parseSmp(spec, { ...(machine ? { machine } : {}), ...(qemuVersion ? { qemuVersion } : {}) });
  if (!r.ok) throw new Error(`${spec}: ${r.error.message}`);
  return r.topology;
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, isArray: (n) => n === 'vcpu' });

describe('renderTopology qemu', () => {
  it('renders the canonical -smp that parses back to the same topology', () => {
    for (const spec of ['8', '8,threads=2', '2,maxcpus=8,dies=2', 'sockets=2,cores=3,threads=2']) {
      const t = topo(spec);
      const out = renderTopology(t, 'qemu');
      const m = /^-smp (\S+)$/m.exec(out);
      expect(m, out).not.toBeNull();
      const back = parseSmp(m![1]!);
      expect(back.ok && back.topology).toEqual(t);
    }
  });
  it('adds -machine when asked and warns about levels the machine lacks', () => {
    const t: GuestTopology = { drawers: 1, books: 1, sockets: 1, dies: 2, clusters: 1, cores: 2, threads: 1, cpus: 4, maxcpus: 4 };
    const r = renderTopologyDetailed(t, 'qemu', { machine: 'microvm' });
    expect(r.text).toContain('-machine microvm -smp cpus=4,sockets=1,dies=2,cores=2,threads=1,maxcpus=4');
    expect(r.text).toMatch(/^# warning: dies=2: machine microvm has no dies level/m);
  });
  it('refuses impossible topologies', () => {
    const bad: GuestTopology = { drawers: 1, books: 1, sockets: 2, dies: 1, clusters: 1, cores: 2, threads: 1, cpus: 4, maxcpus: 5 };
    expect(() => renderTopology(bad, 'qemu')).toThrow(/product/);
  });
});

describe('renderTopology libvirt', () => {
  it('is well-formed with <vcpu current>, <vcpus> for hot-pluggable vCPUs and a full <topology>', () => {
    const t = topo('3,maxcpus=8,sockets=2,threads=2');
    const out = renderTopology(t, 'libvirt', { name: 'vm<1>' });
    expect(XMLValidator.validate(out)).toBe(true);
    const d = xml.parse(out).domain;
    expect(d.name).toBe('vm<1>');
    expect(d.vcpu[0]).toMatchObject({ placement: 'static', current: '3', '#text': 8 });
    expect(d.cpu.topology).toEqual({ sockets: '2', dies: '1', cores: '2', threads: '2' });
    const v = d.vcpus.vcpu as Record<string, string>[];
    expect(v).toHaveLength(8);
    expect(v.filter((x) => x.enabled === 'yes').map((x) => x.id)).toEqual(['0', '1', '2']);
    expect(v.every((x) => (x.enabled === 'yes') === (x.hotpluggable === 'no'))).toBe(true);
    expect(d.os.type.machine).toBe('pc-q35-7.2');
  });
  it('has no <vcpus> when every vCPU is present, and writes clusters only when > 1 (with a warning)', () => {
    const out = renderTopology(topo('4'), 'libvirt');
    expect(out).not.toMatch(/^\s*<vcpus>/m);
    expect(out).not.toContain('clusters=');
    const c = renderTopologyDetailed(topo('8,clusters=2', 'virt'), 'libvirt', { machine: 'virt' });
    expect(c.text).toContain("clusters='2'");
    expect(c.warnings.join()).toMatch(/libvirt >= 10.1/);
    expect(XMLValidator.validate(c.text)).toBe(true);
  });
});

describe('renderTopology kubevirt', () => {
  it('is valid YAML with spec.domain.cpu sockets/cores/threads and maxSockets for hot-plug', () => {
    const t = topo('4,maxcpus=16,sockets=4,threads=2');
    const doc = parseYaml(renderTopology(t, 'kubevirt', { name: 'vm1' }));
    expect(doc.kind).toBe('VirtualMachineInstance');
    expect(doc.metadata.name).toBe('vm1');
    expect(doc.spec.domain.cpu).toEqual({ sockets: 1, cores: 2, threads: 2, maxSockets: 4 });
  });
  it('folds dies into cores and says so; rounds partial sockets up with a warning', () => {
    const r = renderTopologyDetailed(topo('3,maxcpus=16,sockets=2,dies=2'), 'kubevirt');
    const doc = parseYaml(r.text);
    expect(doc.spec.domain.cpu).toEqual({ sockets: 1, cores: 8, threads: 1, maxSockets: 2 });
    expect(r.text).toMatch(/^# warning: KubeVirt has no dies/m);
    expect(r.text).toMatch(/^# warning: KubeVirt hot-plugs whole sockets of 8 vCPUs: 3 present/m);
  });
  it('has no maxSockets and no warning when the topology fits', () => {
    const r = renderTopologyDetailed(topo('8,sockets=2,threads=2'), 'kubevirt');
    expect(r.warnings).toEqual([]);
    expect(parseYaml(r.text).spec.domain.cpu).toEqual({ sockets: 2, cores: 2, threads: 2 });
  });
});

describe('renderTopology nova and proxmox', () => {
  const kv = (text: string, sep: string) =>
    Object.fromEntries(
      text
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(sep).map((x) => x.trim())),
    );
  it('nova: hw:cpu_* extra specs; warns about hot-plug it cannot express', () => {
    const r = renderTopologyDetailed(topo('6,maxcpus=8,sockets=2,threads=2'), 'nova');
    expect(kv(r.text, '=')).toEqual({ 'hw:cpu_sockets': '2', 'hw:cpu_cores': '2', 'hw:cpu_threads': '2' });
    expect(r.text).toContain('# flavor vcpus=8');
    expect(r.warnings.join()).toMatch(/no vCPU hot-plug/);
  });
  it('proxmox: sockets/cores/vcpus; threads folded into cores with a warning', () => {
    const r = renderTopologyDetailed(topo('6,maxcpus=8,sockets=2,threads=2'), 'proxmox');
    expect(kv(r.text, ':')).toEqual({ sockets: '2', cores: '4', vcpus: '6' });
    expect(r.warnings.join()).toMatch(/no threads option/);
    const plain = renderTopologyDetailed(topo('8,sockets=2'), 'proxmox');
    expect(plain.warnings).toEqual([]);
  });
  it('json: topology, machine and -smp', () => {
    const j = JSON.parse(renderTopology(topo('8,threads=2'), 'json'));
    expect(j.topology).toMatchObject({ sockets: 1, cores: 4, threads: 2, cpus: 8, maxcpus: 8 });
    expect(j.qemu).toBe('-smp cpus=8,sockets=1,dies=1,cores=4,threads=2,maxcpus=8');
  });
});
