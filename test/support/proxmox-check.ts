/**
 * Proxmox VE's reading of a qm.conf, for tests: the option formats and checks of qemu-server
 * (proxmox/qemu-server e6352be, src/PVE/QemuServer.pm $confdesc + config_to_command,
 * src/PVE/QemuServer/Memory.pm $numa_fmt + config, src/PVE/QemuServer/Machine.pm $machine_fmt,
 * pve-cpuset for affinity) and the `-smp` qemu-server builds from it.
 */
import { parseCpulist } from '../../src/core/cpulist.ts';
import { PROXMOX_MACHINE, PROXMOX_MAX_NUMA } from '../../src/render/render-proxmox.ts';

export interface ProxmoxReading {
  errors: string[];
  /** qemu-server's -smp: vcpus, sockets, cores, maxcpus = sockets*cores. */
  smp: { vcpus: number; sockets: number; cores: number; maxcpus: number };
  machine: string | null;
  arch: string;
  memory: number;
  numa: { id: number; cpus: number[]; memory: number; hostnodes: number[] | null; policy: string | null }[];
  affinity: number[] | null;
}

const INT = /^\d+$/;
const NUMA_LIST = /^\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*$/;

function listOf(s: string): number[] {
  return s.split(';').flatMap((r) => {
    const [a, b] = r.split('-').map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

/** Parse and check a qm.conf the way qemu-server does; `hostCpus` is the node's CPU count. */
export function readQmConf(text: string, hostCpus: number): ProxmoxReading {
  const errors: string[] = [];
  const conf = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z][a-z0-9-]*):\s*(.*)$/.exec(line);
    if (!m) {
      errors.push(`unable to parse line: ${line}`);
      continue;
    }
    if (conf.has(m[1]!)) errors.push(`duplicate key ${m[1]}`);
    conf.set(m[1]!, m[2]!);
  }
  const known = new Set([
    'arch',
    'machine',
    'memory',
    'sockets',
    'cores',
    'vcpus',
    'hotplug',
    'numa',
    'affinity',
    ...Array.from({ length: PROXMOX_MAX_NUMA }, (_, i) => `numa${i}`),
  ]);
  for (const k of conf.keys()) if (!known.has(k)) errors.push(`unknown option ${k}`);
  const int = (k: string, min: number, def: number): number => {
    const v = conf.get(k);
    if (v === undefined) return def;
    if (!INT.test(v) || Number(v) < min) {
      errors.push(`${k}: value must be an integer >= ${min}, got ${v}`);
      return def;
    }
    return Number(v);
  };
  // $confdesc: sockets/cores minimum 1 default 1; vcpus minimum 1 default 0 (= maxcpus).
  const sockets = int('sockets', 1, 1);
  const cores = int('cores', 1, 1);
  const maxcpus = sockets * cores;
  let vcpus = int('vcpus', 1, 0) || maxcpus;
  // config_to_command: "MAX $allowed_vcpus vcpus allowed per VM on this node"; vcpu_hotplug: "you can't add more vcpus than maxcpus".
  if (maxcpus > hostCpus) errors.push(`MAX ${hostCpus} vcpus allowed per VM on this node`);
  if (vcpus > maxcpus) {
    errors.push("you can't add more vcpus than maxcpus");
    vcpus = maxcpus;
  }
  if (vcpus < maxcpus && !(conf.get('hotplug') ?? '').split(',').includes('cpu')) errors.push('vcpus < sockets*cores without hotplug: cpu');
  const arch = conf.get('arch') ?? 'x86_64';
  if (arch !== 'x86_64' && arch !== 'aarch64') errors.push(`arch: value '${arch}' does not have a value in the enumeration 'x86_64, aarch64'`);
  const machine = conf.get('machine') ?? null;
  if (machine !== null) {
    const type =
      machine
        .split(',')
        .find((p) => !p.includes('=') || p.startsWith('type='))
        ?.replace(/^type=/, '') ?? '';
    if (!PROXMOX_MACHINE.test(type) || type.length > 40) errors.push(`machine: invalid format ${machine}`);
    if (arch === 'aarch64' && !type.startsWith('virt')) errors.push(`machine ${type} is not an aarch64 machine`);
    if (arch === 'x86_64' && type.startsWith('virt')) errors.push('virt is not an x86_64 machine');
    // QEMU hw/i386/pc_piix.c: i440fx max_cpus 255.
    if (/^pc($|-i440fx|-\d)/.test(type) && maxcpus > 255) errors.push(`i440fx takes at most 255 vCPUs, sockets*cores=${maxcpus}`);
  }
  const memory = int('memory', 16, 512);
  const numa: ProxmoxReading['numa'] = [];
  for (let i = 0; i < PROXMOX_MAX_NUMA; i++) {
    const v = conf.get(`numa${i}`);
    if (v === undefined) continue;
    const props = new Map(v.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
    for (const k of props.keys()) if (!['cpus', 'memory', 'hostnodes', 'policy'].includes(k)) errors.push(`numa${i}: unknown property ${k}`);
    const cpus = props.get('cpus');
    if (cpus === undefined) errors.push(`missing NUMA node${i} cpus`);
    else if (!NUMA_LIST.test(cpus)) errors.push(`numa${i}: cpus '${cpus}' does not match id[-id];...`);
    const mem = props.get('memory');
    if (!mem || !(Number(mem) > 0)) errors.push(`missing NUMA node${i} memory value`);
    const hostnodes = props.get('hostnodes');
    if (hostnodes !== undefined && !NUMA_LIST.test(hostnodes)) errors.push(`numa${i}: hostnodes '${hostnodes}' does not match id[-id];...`);
    const policy = props.get('policy') ?? null;
    if (policy !== null && !['preferred', 'bind', 'interleave'].includes(policy)) errors.push(`numa${i}: policy ${policy}`);
    if (hostnodes !== undefined && policy === null) errors.push(`you need to define a policy for hostnode ${hostnodes}`);
    numa.push({ id: i, cpus: cpus && NUMA_LIST.test(cpus) ? listOf(cpus) : [], memory: Number(mem), hostnodes: hostnodes ? listOf(hostnodes) : null, policy });
  }
  if (numa.length) {
    if (conf.get('numa') !== '1') errors.push('numaN given without numa: 1');
    const total = numa.reduce((a, n) => a + n.memory, 0);
    if (total !== memory) errors.push('total memory for NUMA nodes must be equal to vm static memory');
  }
  let affinity: number[] | null = null;
  const a = conf.get('affinity');
  if (a !== undefined) {
    try {
      affinity = parseCpulist(a);
      if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(a)) throw new Error('format');
    } catch {
      errors.push(`affinity: invalid pve-cpuset ${a}`);
    }
  }
  return { errors, smp: { vcpus, sockets, cores, maxcpus }, machine, arch, memory, numa, affinity };
}
