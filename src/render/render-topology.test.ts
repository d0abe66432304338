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
    // libvirt 9.0 (default target) has no clusters: folded into cores, said with a code.
    const c = renderTopologyDetailed(topo('8,clusters=2', 'virt'), 'libvirt', { machine: 'virt' });
    expect(c.text).not.toContain("clusters='");
    expect(c.text).toContain("<topology sockets='1' dies='1' cores='8' threads='1'/>");
    expect(c.notes?.map((n) => n.code)).toContain('W_LIBVIRT_CLUSTERS');
    expect(XMLValidator.validate(c.text)).toBe(true);
    const n = renderTopologyDetailed(topo('8,clusters=2', 'virt'), 'libvirt', { machine: 'virt', libvirtVersion: '10.1' });
    expect(n.text).toContain("clusters='2' cores='4'");
    expect(n.text).toContain("<type arch='aarch64' machine='virt-7.2'>hvm</type>");
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
    // 3 of 16 present: whole sockets of gcd(3,16)=1 vCPU keep the present and maximum counts.
    expect(doc.spec.domain.cpu).toEqual({ sockets: 3, cores: 1, threads: 1, maxSockets: 16 });
    expect(doc.spec.domain.memory.guest).toBe('1024Mi');
    expect(doc.spec.domain.resources.requests.memory).toBe('1024Mi');
    expect(r.text).toMatch(/^# warning: KubeVirt has no dies/m);
    expect(r.text).toMatch(/^# warning: KubeVirt hot-plugs whole sockets: .*becomes 3 of 16 sockets x 1 cores x 1 threads \[W_KUBEVIRT_HOTPLUG_SOCKETS\]/m);
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
    expect(r.text).toContain('openstack flavor create --vcpus 8 --ram 1024 guest\n');
    expect(r.text).toContain('  --property hw:cpu_sockets=2 \\\n  --property hw:cpu_cores=2 \\\n  --property hw:cpu_threads=2\n');
    const j = JSON.parse(renderTopology(topo('6,maxcpus=8,sockets=2,threads=2'), 'nova-json'));
    expect(j.extra_specs).toEqual({ 'hw:cpu_sockets': '2', 'hw:cpu_cores': '2', 'hw:cpu_threads': '2' });
    expect(j.flavor).toEqual({ name: 'guest', vcpus: 8, ram: 1024, disk: 0 });
    expect(r.warnings.join()).toMatch(/no vCPU hot-plug/);
  });
  it('proxmox: sockets/cores/vcpus; threads folded into cores with a warning', () => {
    const r = renderTopologyDetailed(topo('6,maxcpus=8,sockets=2,threads=2'), 'proxmox');
    expect(kv(r.text, ':')).toEqual({ machine: 'pc-q35-7.2', memory: '1024', sockets: '2', cores: '4', vcpus: '6', hotplug: 'network,disk,usb,cpu' });
    expect(r.warnings.join()).toMatch(/no threads option/);
    const plain = renderTopologyDetailed(topo('8,sockets=2'), 'proxmox');
    expect(plain.warnings).toEqual([]);
    expect(() => renderTopology(topo('4', 'microvm'), 'libvirt', { machine: 'microvm' })).toThrow(/PCI bus/);
  });
  it('json: topology, machine and -smp', () => {
    const j = JSON.parse(renderTopology(topo('8,threads=2'), 'json'));
    expect(j.plan.topology).toMatchObject({ sockets: 1, cores: 4, threads: 2, cpus: 8, maxcpus: 8 });
    expect(j.renderings.qemu.text).toBe('-smp cpus=8,sockets=1,dies=1,cores=4,threads=2,maxcpus=8\n');
    expect(Object.keys(j.renderings)).toEqual(['qemu', 'libvirt', 'kubevirt', 'nova', 'nova-json', 'proxmox']);
  });
});

describe('renderings of a whole plan (NUMA cells, pins, limits)', () => {
  const codes = (r: { notes?: { code: string }[] }) => (r.notes ?? []).map((n) => n.code);
  it('completes cells with hot-pluggable vCPUs and splits uneven memory; Nova gets explicit cells', () => {
    const t = topo('4,maxcpus=8,sockets=4,cores=2');
    const opts = { memoryMiB: 1000, cells: [{ vcpus: [0, 1] }, { vcpus: [2, 3] }, { vcpus: [] as number[] }] };
    const j = JSON.parse(renderTopology(t, 'json', opts));
    // sockets 2 and 3 (vCPUs 4-5, 6-7) are wholly hot-pluggable: round-robin by die index over the cells (2 % 3, 3 % 3).
    expect(j.plan.cells.map((c: { vcpus: number[]; memoryMiB: number }) => [c.vcpus, c.memoryMiB])).toEqual([
      [[0, 1, 6, 7], 333],
      [[2, 3], 333],
      [[4, 5], 334],
    ]);
    const n = JSON.parse(j.renderings['nova-json'].text).extra_specs;
    expect(n).toMatchObject({ 'hw:numa_nodes': '3', 'hw:numa_cpus.0': '0-1,6-7', 'hw:numa_mem.2': '334' });
    expect(j.renderings.qemu.text).toContain('-numa node,nodeid=0,cpus=0-1,cpus=6-7,memdev=ram0');
    expect(j.renderings.proxmox.text).toMatch(/^numa0: cpus=0-1;6-7,memory=333$/m);
    expect(j.renderings.libvirt.text).toContain("<cell id='0' cpus='0-1,6-7' memory='333' unit='MiB'/>");
  });
  it('pins: libvirt cputune/numatune, Nova dedicated + require, KubeVirt dedicated + NUMA passthrough with hugepages', () => {
    const t = topo('4,sockets=2,cores=1,threads=2');
    const opts = {
      memoryMiB: 1001,
      cells: [
        { vcpus: [0, 1], hostNode: 0 },
        { vcpus: [2, 3], hostNode: 1 },
      ],
      pins: [0, 8, 1, 9].map((c, v) => ({ vcpu: v, cpus: [c] })),
      emulator: [5],
      isolateEmulator: true,
    };
    const lv = renderTopology(t, 'libvirt', opts);
    expect(lv).toContain("<vcpupin vcpu='1' cpuset='8'/>");
    expect(lv).toContain("<emulatorpin cpuset='5'/>");
    expect(lv).toContain("<memnode cellid='1' mode='strict' nodeset='1'/>");
    const nv = renderTopology(t, 'nova', opts);
    expect(nv).toContain('--property hw:cpu_policy=dedicated');
    expect(nv).toContain('--property hw:cpu_thread_policy=require');
    expect(nv).toContain('--property hw:emulator_threads_policy=isolate');
    const kv = renderTopologyDetailed(t, 'kubevirt', opts);
    const d = parseYaml(kv.text).spec.domain;
    expect(d.cpu).toMatchObject({ dedicatedCpuPlacement: true, isolateEmulatorThread: true, numa: { guestMappingPassthrough: {} } });
    expect(d.memory).toEqual({ hugepages: { pageSize: '2Mi' }, guest: '1002Mi' });
    expect(d.resources).toEqual({ requests: { memory: '1002Mi' }, limits: { memory: '1002Mi' } });
    expect(codes(kv)).toEqual(expect.arrayContaining(['W_KUBEVIRT_PINS', 'W_KUBEVIRT_HUGEPAGES', 'W_KUBEVIRT_NUMA_PASSTHROUGH']));
    const pm = renderTopologyDetailed(t, 'proxmox', opts);
    expect(pm.text).toMatch(/^affinity: 0-1,5,8-9$/m);
    expect(pm.text).toMatch(/^numa0: cpus=0-1,hostnodes=0,memory=500,policy=bind$/m);
    expect(codes(pm)).toEqual(expect.arrayContaining(['W_PROXMOX_THREADS', 'W_PROXMOX_AFFINITY']));
  });
  it('limits: >255 x86 vCPUs get the IOMMU + split irqchip; arm virt > 8 gets GICv3; Proxmox caps at host CPUs', () => {
    const big = topo('288', 'q35');
    const lv = renderTopology(big, 'libvirt', { machine: 'q35' });
    expect(lv).toContain("<ioapic driver='qemu'/>");
    expect(lv).toContain("<driver intremap='on' eim='on'/>");
    expect(renderTopology(big, 'qemu', { machine: 'q35' })).toContain('-machine pc-q35-7.2,kernel-irqchip=split -smp');
    const arm = topo('16', 'virt,gic-version=3');
    expect(renderTopology(arm, 'qemu', { machine: 'virt' })).toContain('-machine virt-7.2,gic-version=3 ');
    expect(renderTopology(arm, 'libvirt', { machine: 'virt' })).toContain("<gic version='3'/>");
    expect(renderTopology(arm, 'proxmox', { machine: 'virt' })).toMatch(/^arch: aarch64\nmachine: virt-7.2$/m);
    expect(codes(renderTopologyDetailed(topo('16'), 'proxmox', { hostCpus: 8 }))).toContain('W_PROXMOX_VCPU_CAP');
    expect(() => renderTopology(topo('4', 's390-ccw-virtio'), 'proxmox', { machine: 's390-ccw-virtio' })).toThrow(/x86_64 and aarch64/);
  });
});
