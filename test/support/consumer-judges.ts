/**
 * Each consumer's own validator on one rendering, and its reading compared with the plan:
 * - qemu: QEMU starts the arguments (-S, TCG unless the plan needs KVM) and QMP
 *   query-hotpluggable-cpus + `info numa` (human-monitor-command) describe the plan's guest;
 * - libvirt: virt-xml-validate, `virsh define --validate`, the defined XML read back, and
 *   `virsh domxml-to-native qemu-argv` (its -smp and -numa) — then undefine;
 * - nova / nova-json: Nova's extra-spec validators and nova.virt.hardware (test/support/nova-check.py);
 * - kubevirt: the v1.9.0 OpenAPI schema + admission rules (kubevirt-check.ts);
 * - proxmox: qemu-server's qm.conf rules (proxmox-check.ts).
 * A reading that differs from the plan passes only when the rendering declared that aspect with a
 * warning code (the consumer cannot express it): never silently less.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { formatCpulist, parseCpulist } from '../../src/core/cpulist.ts';
import { startQemu } from '../../src/qmp/start-qemu.ts';
import { kvmUsable } from '../../src/check/probe-kvm.ts';
import { admitVmi, quantity, schemaErrors } from './kubevirt-check.ts';
import { readQmConf } from './proxmox-check.ts';

const execFileP = promisify(execFile);

export interface PlanView {
  name: string;
  topology: {
    drawers: number;
    books: number;
    sockets: number;
    dies: number;
    clusters: number;
    modules: number;
    cores: number;
    threads: number;
    cpus: number;
    maxcpus: number;
  };
  machine: string;
  arch: string;
  memoryMiB: number;
  cells: { id: number; vcpus: number[]; memoryMiB: number; hostNode: number | null }[];
  pins: { vcpu: number; cpus: number[] }[] | null;
  emulator: number[] | null;
  dedicated: boolean;
  threadPolicy: string;
  isolateEmulator: boolean;
  hostCpus: number | null;
  mixedDedicated: number[] | null;
}

export interface Verdict {
  ok: boolean;
  /** Why it failed (empty when ok), or what was declared. */
  problems: string[];
  skipped?: string;
}

/** Aspect differences allowed only with one of these codes in the rendering. */
function declared(text: string, codes: string[]): boolean {
  return codes.some((c) => text.includes(c));
}

function differ(problems: string[], text: string, what: string, got: unknown, want: unknown, codes: string[]): void {
  if (JSON.stringify(got) === JSON.stringify(want)) return;
  if (declared(text, codes)) return;
  problems.push(`${what}: consumer reads ${JSON.stringify(got)}, plan has ${JSON.stringify(want)} (not declared: ${codes.join('|')})`);
}

const socketsOf = (t: PlanView['topology']) => t.drawers * t.books * t.sockets;
const coresOf = (t: PlanView['topology']) => t.dies * t.clusters * t.modules * t.cores;

// ---------------------------------------------------------------------------------------- QEMU

function qemuArgs(text: string): string[] {
  const body = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return body.split(/\s+/).filter(Boolean);
}

const BINARY: Record<string, string> = { x86_64: 'qemu-system-x86_64', aarch64: 'qemu-system-aarch64', s390x: 'qemu-system-s390x' };

export async function judgeQemu(text: string, p: PlanView): Promise<Verdict> {
  const problems: string[] = [];
  // Memory bound to the planned host's nodes: this host may have only node 0 (as for libvirt's domxml-to-native).
  const args = qemuArgs(text).map((a) => a.replace(/host-nodes=\d+/g, 'host-nodes=0'));
  const binary = BINARY[p.arch]!;
  let accel = 'tcg';
  // QEMU 7.2's TCG refuses x86 APIC IDs >= 255 (x2APIC needs KVM): such plans are checked under KVM.
  if (p.arch === 'x86_64' && p.topology.maxcpus > 255) {
    if (!(await kvmUsable()))
      return { ok: false, problems: [], skipped: 'more than 255 x86 vCPUs need KVM (QEMU 7.2 TCG has no x2APIC) and /dev/kvm does not work here' };
    accel = 'kvm';
  }
  const extra = ['-S', '-nodefaults', '-display', 'none', '-accel', accel];
  if (p.arch === 'aarch64') extra.push('-cpu', 'max');
  if (!args.includes('-m')) extra.push('-m', '128');
  let q;
  try {
    q = await startQemu({ binary, args: [...args, ...extra], timeoutMs: 60_000 });
  } catch (e) {
    return { ok: false, problems: [`QEMU refused: ${(e as Error).message.slice(0, 400)}`] };
  }
  try {
    type Slot = { props: Record<string, number>; 'qom-path'?: string; 'vcpus-count': number };
    let hot: Slot[];
    try {
      hot = (await q.qmp.execute('query-hotpluggable-cpus')) as Slot[];
    } catch {
      // Machines without CPU hot-plug (microvm) do not answer it: their CPUs are all present.
      const cpus = (await q.qmp.execute('query-cpus-fast')) as { props: Record<string, number>; 'qom-path': string }[];
      hot = cpus.map((c) => ({ props: c.props, 'qom-path': c['qom-path'], 'vcpus-count': 1 }));
    }
    const total = hot.reduce((a, h) => a + h['vcpus-count'], 0);
    const present = hot.filter((h) => h['qom-path']).reduce((a, h) => a + h['vcpus-count'], 0);
    differ(problems, text, 'QEMU maxcpus', total, p.topology.maxcpus, ['W_QEMU_NO_HOTPLUG']);
    differ(problems, text, 'QEMU present vCPUs', present, p.topology.cpus, []);
    const span = (k: string) => (hot.some((h) => h.props[k] !== undefined) ? Math.max(...hot.map((h) => h.props[k] ?? 0)) + 1 : 1);
    const t = p.topology;
    if (p.arch !== 's390x') {
      differ(problems, text, 'QEMU sockets', span('socket-id'), t.sockets, []);
      differ(problems, text, 'QEMU threads', span('thread-id'), t.threads, []);
      differ(problems, text, 'QEMU cores', span('core-id'), t.cores, ['W_QEMU_NO_HOTPLUG']);
      if (p.arch === 'x86_64') differ(problems, text, 'QEMU dies', span('die-id'), t.dies, []);
      if (p.arch === 'aarch64') differ(problems, text, 'QEMU clusters', span('cluster-id'), t.clusters, []);
    }
    const numa = (await q.qmp.execute('human-monitor-command', { 'command-line': 'info numa' })) as string;
    const nodes = Number(/^(\d+) nodes/m.exec(numa)?.[1] ?? -1);
    differ(problems, text, 'QEMU NUMA nodes', nodes, p.cells.length, []);
    for (const c of p.cells) {
      const cpus = (new RegExp(`^node ${c.id} cpus:(.*)$`, 'm').exec(numa)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
      const size = Number(new RegExp(`^node ${c.id} size: (\\d+) MB`, 'm').exec(numa)?.[1] ?? -1);
      differ(
        problems,
        text,
        `QEMU node ${c.id} cpus`,
        cpus,
        c.vcpus.filter((v) => v < p.topology.cpus),
        [],
      );
      differ(problems, text, `QEMU node ${c.id} MiB`, size, c.memoryMiB, []);
    }
  } finally {
    await q.stop();
  }
  return { ok: problems.length === 0, problems };
}

// ------------------------------------------------------------------------------------- libvirt

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  isArray: (n) => ['vcpu', 'cell', 'vcpupin', 'arg'].includes(n),
});

let kvmDomains: Map<string, boolean> | undefined;
function libvirtHasKvm(arch: string): boolean {
  kvmDomains ??= new Map();
  if (!kvmDomains.has(arch)) {
    const r = spawnSync('virsh', ['-c', 'qemu:///system', 'domcapabilities', '--virttype', 'kvm', '--arch', arch], { encoding: 'utf8', timeout: 60_000 });
    kvmDomains.set(arch, r.status === 0);
  }
  return kvmDomains.get(arch)!;
}

async function virsh(...args: string[]): Promise<string> {
  return (await execFileP('virsh', ['-c', 'qemu:///system', ...args], { timeout: 120_000, maxBuffer: 16 << 20 })).stdout;
}

export function parseSmpArg(v: string): Record<string, number> {
  const o: Record<string, number> = {};
  v.split(',').forEach((part, i) => {
    const [k, val] = part.includes('=') ? part.split('=') : ['cpus', part];
    if (i === 0 || part.includes('=')) o[k!] = Number(val);
  });
  return o;
}

export async function judgeLibvirt(text: string, p: PlanView, domName: string): Promise<Verdict> {
  const problems: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'kvt-render-'));
  let doc = text.replace(/<name>[^<]*<\/name>/, `<name>${domName}</name>`);
  // type='kvm' needs /dev/kvm for that architecture; without it libvirt's own TCG type checks the same XML.
  if (!libvirtHasKvm(p.arch)) doc = doc.replace("<domain type='kvm'>", "<domain type='qemu'>");
  const file = join(dir, 'd.xml');
  writeFileSync(file, doc);
  let defined = false;
  try {
    const v = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
    if (v.status !== 0) problems.push(`virt-xml-validate: ${(v.stderr + v.stdout).trim().slice(0, 400)}`);
    try {
      await virsh('define', '--validate', file);
      defined = true;
    } catch (e) {
      problems.push(
        `virsh define --validate: ${String((e as { stderr?: string }).stderr ?? e)
          .trim()
          .slice(0, 400)}`,
      );
      return { ok: false, problems };
    }
    const d = xml.parse(await virsh('dumpxml', '--inactive', domName)).domain;
    const t = p.topology;
    const vcpu = d.vcpu[0];
    const max = Number(typeof vcpu === 'object' ? vcpu['#text'] : vcpu);
    const current = typeof vcpu === 'object' && vcpu.current ? Number(vcpu.current) : max;
    differ(problems, text, 'libvirt vCPUs', [current, max], [t.cpus, t.maxcpus], []);
    const topo = d.cpu?.topology ?? {};
    differ(
      problems,
      text,
      'libvirt topology',
      [Number(topo.sockets), Number(topo.dies ?? 1), Number(topo.clusters ?? 1), Number(topo.cores), Number(topo.threads)],
      [t.sockets, t.dies, t.clusters, t.cores, t.threads],
      ['W_LIBVIRT_CLUSTERS', 'W_LIBVIRT_FOLDED'],
    );
    const cells = (d.cpu?.numa?.cell ?? []).map((c: Record<string, string>) => ({
      id: Number(c.id),
      vcpus: parseCpulist(c.cpus!),
      memoryMiB: Number(c.memory) / (c.unit === 'KiB' ? 1024 : 1),
    }));
    differ(
      problems,
      text,
      'libvirt NUMA cells',
      cells,
      p.cells.map((c) => ({ id: c.id, vcpus: c.vcpus, memoryMiB: c.memoryMiB })),
      [],
    );
    const pins = (d.cputune?.vcpupin ?? []).map((x: Record<string, string>) => ({ vcpu: Number(x.vcpu), cpus: parseCpulist(x.cpuset!) }));
    differ(problems, text, 'libvirt vcpupin', pins, p.pins ?? [], []);
    differ(problems, text, 'libvirt emulatorpin', d.cputune?.emulatorpin ? parseCpulist(d.cputune.emulatorpin.cpuset) : null, p.emulator, []);
    differ(problems, text, 'libvirt machine/arch', [d.os.type.arch, d.os.type.machine], [p.arch, p.machine], []);
    // domxml-to-native checks host-bound parts against this host: nodesets name the planned host's nodes.
    const native = doc.replace(/nodeset='[^']*'/g, "nodeset='0'");
    writeFileSync(file, native);
    let argv = '';
    try {
      argv = await virsh('domxml-to-native', 'qemu-argv', file);
    } catch (e) {
      problems.push(
        `virsh domxml-to-native: ${String((e as { stderr?: string }).stderr ?? e)
          .trim()
          .slice(0, 400)}`,
      );
    }
    if (argv) {
      const toks = argv.split(/\s+/);
      const smp = parseSmpArg(toks[toks.indexOf('-smp') + 1] ?? '');
      const maxcpus = smp.maxcpus ?? smp.cpus;
      differ(problems, text, 'libvirt -smp cpus/maxcpus', [smp.cpus, maxcpus], [t.cpus, t.maxcpus], []);
      const product = (smp.sockets ?? 1) * (smp.dies ?? 1) * (smp.clusters ?? 1) * (smp.cores ?? 1) * (smp.threads ?? 1);
      differ(problems, text, 'libvirt -smp product', product, t.maxcpus, []);
      differ(problems, text, 'libvirt -smp threads', smp.threads ?? 1, t.threads, []);
      const numaNodes = toks.filter((x) => x.startsWith('node,nodeid=')).length;
      differ(problems, text, 'libvirt -numa nodes', numaNodes, p.cells.length, []);
    }
  } finally {
    if (defined) await virsh('undefine', domName).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok: problems.length === 0, problems };
}

// ---------------------------------------------------------------------------------------- Nova

export interface NovaFlavor {
  vcpus: number;
  ram: number;
  extra_specs: Record<string, string>;
}

/** The flavor an `openstack flavor create` + `flavor set --property` script makes. */
export function flavorFromScript(text: string): NovaFlavor | string {
  const body = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const create = /openstack flavor create --vcpus (\d+) --ram (\d+) /.exec(body);
  if (!create) return 'no `openstack flavor create --vcpus N --ram M` line';
  const specs: Record<string, string> = {};
  for (const m of body.matchAll(/--property '?([^=\s']+)=([^\s']*)'?/g)) specs[m[1]!] = m[2]!;
  return { vcpus: Number(create[1]), ram: Number(create[2]), extra_specs: specs };
}

export interface NovaAnswer {
  invalid: [string, string][];
  topology?: [number, number, number];
  numa?: { id: number; cpus: number[]; pcpus: number[]; memory: number; cpu_policy: string | null; cpu_thread_policy: string | null }[] | null;
  emulator_threads_policy?: string | null;
  error?: string;
  message?: string;
}

/** Nova's reading of many flavors at once (one python3 process). */
export function askNova(flavors: NovaFlavor[]): NovaAnswer[] {
  if (flavors.length === 0) return [];
  const r = spawnSync('/usr/bin/python3', [new URL('./nova-check.py', import.meta.url).pathname], {
    input: flavors.map((f) => JSON.stringify(f)).join('\n') + '\n',
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`nova-check.py failed: ${r.stderr.slice(-800)}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as NovaAnswer);
}

export function judgeNova(text: string, flavor: NovaFlavor, a: NovaAnswer, p: PlanView): Verdict {
  const problems: string[] = [];
  for (const [k, m] of a.invalid) problems.push(`Nova validator refuses ${k}: ${m}`);
  if (a.error) return { ok: false, problems: [...problems, `Nova raises ${a.error}: ${a.message}`] };
  const t = p.topology;
  differ(problems, text, 'Nova vCPUs (present)', flavor.vcpus, t.cpus, ['W_NOVA_NO_HOTPLUG']);
  differ(problems, text, 'Nova vCPUs (maximum)', flavor.vcpus, t.maxcpus, []);
  differ(problems, text, 'Nova RAM', flavor.ram, p.memoryMiB, []);
  differ(problems, text, 'Nova topology', a.topology, [socketsOf(t), coresOf(t), t.threads], ['W_NOVA_FOLDED']);
  const cells = (a.numa ?? []).map((c) => ({ id: c.id, vcpus: c.cpus, memoryMiB: c.memory }));
  const want = p.cells.map((c) => ({ id: c.id, vcpus: c.vcpus, memoryMiB: c.memoryMiB }));
  // Nova builds a one-cell NUMA topology for every pinned guest (numa_get_constraints).
  if (!(p.cells.length === 0 && cells.length === 1 && p.dedicated)) differ(problems, text, 'Nova NUMA cells', cells, want, []);
  const policy = a.numa?.[0]?.cpu_policy ?? null;
  differ(problems, text, 'Nova cpu policy', policy, p.mixedDedicated ? 'mixed' : p.dedicated ? 'dedicated' : null, ['W_NOVA_PINS']);
  if (p.dedicated) differ(problems, text, 'Nova thread policy', a.numa?.[0]?.cpu_thread_policy, p.threadPolicy, []);
  if (p.dedicated) differ(problems, text, 'Nova emulator threads', a.emulator_threads_policy ?? 'share', p.isolateEmulator ? 'isolate' : 'share', []);
  if (p.pins && !declared(text, ['W_NOVA_PINS'])) problems.push('plan pins vCPUs, rendering neither expresses nor declares it');
  return { ok: problems.length === 0, problems };
}

// ------------------------------------------------------------------------------------ KubeVirt

export function judgeKubevirt(text: string, p: PlanView): Verdict {
  const problems: string[] = [];
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { ok: false, problems: [`not YAML: ${(e as Error).message}`] };
  }
  for (const e of schemaErrors(doc)) problems.push(`schema: ${e.slice(0, 300)}`);
  for (const c of admitVmi(doc)) problems.push(`admission: ${c}`);
  const spec = doc.spec as { architecture?: string; domain: { cpu?: Record<string, unknown>; memory?: { guest?: string }; machine?: { type?: string } } };
  const cpu = spec?.domain?.cpu ?? {};
  const s = Number(cpu.sockets ?? 1);
  const c = Number(cpu.cores ?? 1);
  const th = Number(cpu.threads ?? 1);
  const maxS = Number(cpu.maxSockets ?? s);
  const t = p.topology;
  differ(problems, text, 'KubeVirt present/max vCPUs', [s * c * th, maxS * c * th], [t.cpus, t.maxcpus], []);
  differ(
    problems,
    text,
    'KubeVirt topology',
    [maxS, c, th],
    [socketsOf(t), coresOf(t), t.threads],
    ['W_KUBEVIRT_FOLDED', 'W_KUBEVIRT_HOTPLUG_SOCKETS', 'W_KUBEVIRT_THREADS'],
  );
  differ(problems, text, 'KubeVirt memory MiB', quantity(spec?.domain?.memory?.guest) / 2 ** 20, p.memoryMiB, ['W_KUBEVIRT_HUGEPAGES']);
  differ(problems, text, 'KubeVirt dedicated', Boolean(cpu.dedicatedCpuPlacement), p.dedicated || p.mixedDedicated !== null, []);
  if (p.pins && !declared(text, ['W_KUBEVIRT_PINS'])) problems.push('plan pins vCPUs, rendering neither expresses nor declares it');
  const numa = (cpu.numa as Record<string, unknown> | undefined)?.guestMappingPassthrough !== undefined;
  if (p.cells.length > 1) {
    if (!numa && !declared(text, ['W_KUBEVIRT_NUMA'])) problems.push('plan has guest NUMA cells, rendering neither expresses nor declares them');
    if (numa && !declared(text, ['W_KUBEVIRT_NUMA_PASSTHROUGH'])) problems.push('guestMappingPassthrough without saying what KubeVirt builds');
  } else if (numa) problems.push('guestMappingPassthrough for a plan without guest NUMA');
  const arch = { x86_64: 'amd64', aarch64: 'arm64', s390x: 's390x' }[p.arch];
  differ(problems, text, 'KubeVirt architecture', spec?.architecture, arch, []);
  differ(problems, text, 'KubeVirt machine', spec?.domain?.machine?.type, p.machine, ['W_KUBEVIRT_MACHINE']);
  if (t.cpus < t.maxcpus && !/hot-plugs whole sockets/.test(text)) problems.push('hot-plug without stating KubeVirt plugs whole sockets');
  return { ok: problems.length === 0, problems };
}

// ------------------------------------------------------------------------------------- Proxmox

export function judgeProxmox(text: string, p: PlanView): Verdict {
  const r = readQmConf(text, p.hostCpus ?? Number.MAX_SAFE_INTEGER);
  const problems = r.errors.map((e) => `qemu-server: ${e}`);
  const t = p.topology;
  differ(problems, text, 'Proxmox vcpus/maxcpus', [r.smp.vcpus, r.smp.maxcpus], [t.cpus, t.maxcpus], []);
  differ(
    problems,
    text,
    'Proxmox sockets x cores (threads)',
    [r.smp.sockets, r.smp.cores, 1],
    [socketsOf(t), coresOf(t), t.threads],
    ['W_PROXMOX_THREADS', 'W_PROXMOX_FOLDED'],
  );
  differ(problems, text, 'Proxmox machine', r.machine, p.machine, []);
  differ(problems, text, 'Proxmox arch', r.arch, p.arch, []);
  differ(problems, text, 'Proxmox memory', r.memory, p.memoryMiB, []);
  differ(
    problems,
    text,
    'Proxmox NUMA',
    r.numa.map((n) => ({ id: n.id, vcpus: n.cpus, memoryMiB: n.memory })),
    p.cells.map((c) => ({ id: c.id, vcpus: c.vcpus, memoryMiB: c.memoryMiB })),
    [],
  );
  if (p.pins) {
    const all = [...new Set(p.pins.flatMap((x) => x.cpus).concat(p.emulator ?? []))].sort((a, b) => a - b);
    differ(problems, text, 'Proxmox affinity', r.affinity ? formatCpulist(r.affinity) : null, formatCpulist(all), []);
    if (!declared(text, ['W_PROXMOX_AFFINITY'])) problems.push('per-vCPU pins not declared');
  }
  return { ok: problems.length === 0, problems };
}
