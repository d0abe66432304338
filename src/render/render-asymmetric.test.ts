// Asymmetric topologies: every level has a different count (2 sockets, 3 dies, 5 cores, 7
// threads; present vCPUs ≠ maxcpus), so a renderer that swaps two fields (cores ↔ threads in the
// libvirt <topology>, cores written into hw:cpu_threads, cpus ↔ maxcpus) writes a different
// number and fails here. Symmetric fixtures (2×2×2) cannot see such swaps. Parsed back field by
// field from each format's own syntax.
import { describe, expect, it } from 'vitest';
import { parseSmp } from '../smp/parse-smp.ts';
import type { GuestTopology } from '../smp/types.ts';
import { renderTopology } from './render-topology.ts';

function topo(spec: string): GuestTopology {
  const r = parseSmp(spec, { machine: 'pc-q35-7.2' });
  if (!r.ok) throw new Error(`${spec}: ${r.error.message}`);
  return r.topology;
}

/** 2 sockets × 3 cores × 5 threads = 30, all present. */
const flat = topo('30,sockets=2,cores=3,threads=5');
/** 2 sockets × 3 dies × 5 cores × 7 threads = 210 slots, 20 present. */
const deep = topo('20,maxcpus=210,sockets=2,dies=3,cores=5,threads=7');

function attrs(xml: string, element: string): Record<string, string> {
  const m = new RegExp(`<${element}\\s([^>]*?)/?>`).exec(xml);
  if (!m) throw new Error(`no <${element}> in\n${xml}`);
  return Object.fromEntries([...m[1]!.matchAll(/(\w+)='([^']*)'/g)].map((a) => [a[1]!, a[2]!]));
}

function keyValues(text: string, sep: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.trim()) continue;
    const m = sep.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe('renderers keep every level in its own field (asymmetric topologies)', () => {
  it('the fixtures are asymmetric', () => {
    expect(new Set([flat.sockets, flat.cores, flat.threads]).size).toBe(3);
    expect(new Set([deep.sockets, deep.dies, deep.cores, deep.threads, deep.cpus]).size).toBe(5);
    expect(deep.maxcpus).toBe(210);
  });

  it('qemu: -smp names each level with its own count', () => {
    const smpOf = (t: GuestTopology) =>
      Object.fromEntries(
        renderTopology(t, 'qemu')
          .trim()
          .replace(/^-smp /, '')
          .split(',')
          .map((kv) => kv.split('=')),
      );
    expect(smpOf(flat)).toMatchObject({ cpus: '30', sockets: '2', cores: '3', threads: '5' });
    expect(smpOf(deep)).toEqual({
      cpus: '20',
      sockets: '2',
      dies: '3',
      cores: '5',
      threads: '7',
      maxcpus: '210',
    });
  });

  it('libvirt: <topology> sockets/dies/cores/threads and <vcpu current>/max', () => {
    const xml = renderTopology(deep, 'libvirt');
    expect(attrs(xml, 'topology')).toEqual({ sockets: '2', dies: '3', cores: '5', threads: '7' });
    expect(/<vcpu placement='static' current='(\d+)'>(\d+)<\/vcpu>/.exec(xml)?.slice(1)).toEqual(['20', '210']);
    expect([...xml.matchAll(/<vcpu id='\d+' enabled='yes'/g)]).toHaveLength(20);
    expect([...xml.matchAll(/<vcpu id='\d+' enabled='no'/g)]).toHaveLength(190);
    const flatXml = renderTopology(flat, 'libvirt');
    expect(attrs(flatXml, 'topology')).toEqual({ sockets: '2', dies: '1', cores: '3', threads: '5' });
  });

  it('nova: hw:cpu_sockets / hw:cpu_cores / hw:cpu_threads (dies folded into cores)', () => {
    expect(keyValues(renderTopology(flat, 'nova'), /^(?:--property\s+)?(hw:cpu_\w+)=(\d+)(?:\s*\\)?$/)).toEqual({
      'hw:cpu_sockets': '2',
      'hw:cpu_cores': '3',
      'hw:cpu_threads': '5',
    });
    const deepFull = topo('210,sockets=2,dies=3,cores=5,threads=7');
    const text = renderTopology(deepFull, 'nova');
    expect(keyValues(text, /^(?:--property\s+)?(hw:cpu_\w+)=(\d+)(?:\s*\\)?$/)).toEqual({ 'hw:cpu_sockets': '2', 'hw:cpu_cores': '15', 'hw:cpu_threads': '7' });
    expect(text).toContain('# flavor vcpus=210');
    // One `--property` per line of the `openstack flavor set` command, in sockets/cores/threads order.
    expect(text.replace(/\s*\\\n\s*/g, ' ')).toMatch(/--property hw:cpu_sockets=2 --property hw:cpu_cores=15 --property hw:cpu_threads=7/);
  });

  it('kubevirt: spec.domain.cpu sockets/cores/threads', () => {
    const y = renderTopology(flat, 'kubevirt');
    expect(keyValues(y, /^(sockets|cores|threads|maxSockets):\s*(\d+)$/)).toMatchObject({ sockets: '2', cores: '3', threads: '5' });
  });

  it('proxmox: sockets, cores (threads folded in: Proxmox has none), vcpus', () => {
    const p = renderTopology(deep, 'proxmox');
    expect(keyValues(p, /^(sockets|cores|vcpus):\s*(\d+)$/)).toEqual({ sockets: '2', cores: '105', vcpus: '20' });
    expect(keyValues(renderTopology(flat, 'proxmox'), /^(sockets|cores|vcpus):\s*(\d+)$/)).toMatchObject({ sockets: '2', cores: '15' });
  });

  it('json: the topology object field by field', () => {
    // The json rendering is the plan document: {kind, version, plan: {topology, ...}, renderings}.
    const j = JSON.parse(renderTopology(deep, 'json')) as { plan: { topology: GuestTopology } };
    expect(j.plan.topology).toMatchObject({ sockets: 2, dies: 3, cores: 5, threads: 7, cpus: 20, maxcpus: 210 });
  });
});
