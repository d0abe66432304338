import { stringify } from 'yaml';
import { formatCpulist } from '../core/cpulist.ts';
import { renderTable } from '../core/format.ts';
import type { PinPlan } from './pin-plan.ts';
import { renderTopology } from '../render/render-topology.ts';
import type { GuestTopology } from '../smp/types.ts';
import type { GuestPlanOk, PlanHost, PlanResult } from './plan-types.ts';

export type PlanFormat = 'text' | 'json' | 'libvirt' | 'virsh' | 'qemu' | 'kubevirt' | 'nova';
export const PLAN_FORMATS: PlanFormat[] = ['text', 'json', 'libvirt', 'virsh', 'qemu', 'kubevirt', 'nova'];

const ok = (r: PlanResult) => r.guests.filter((g): g is GuestPlanOk => g.fits);

/** The pin plan file (`kvcpu pin --plan` input, src/plan/pin-plan.ts) plus explanation fields beside it. */
export function toPinPlanJson(r: PlanResult): PinPlan & Record<string, unknown> {
  return {
    kind: 'kvcpu-pin-plan',
    version: 1,
    guests: ok(r).map((g) => ({
      name: g.name,
      vcpus: Object.fromEntries(g.vcpus.map((v) => [String(v.vcpu), formatCpulist(v.cpus)])),
      emulator: g.emulator && g.emulator.length ? formatCpulist(g.emulator) : null,
      iothreads: Object.fromEntries(Object.entries(g.iothreads).map(([k, v]) => [k, formatCpulist(v)])),
      topology: g.topology,
    })),
    host: r.host,
    placements: r.guests.map((g) =>
      g.fits
        ? { name: g.name, fits: true, request: g.request, cells: g.cells.map((c) => ({ ...c, vcpus: formatCpulist(c.vcpus), l3: c.l3 ? formatCpulist(c.l3) : null })), reasons: g.reasons }
        : { name: g.name, fits: false, request: g.request, failed: g.failed, reasons: g.reasons },
    ),
    hostAfter: r.hostAfter,
    notes: r.notes,
  };
}

function refusals(r: PlanResult, prefix: string): string {
  return r.guests
    .filter((g) => !g.fits)
    .map((g) => `${prefix} guest ${g.name} refused: ${(g as { failed: string }).failed}\n`)
    .join('');
}

function memnodes(g: GuestPlanOk): string {
  return formatCpulist(g.cells.map((c) => c.hostNode));
}

export function renderLibvirtPlan(r: PlanResult): string {
  let out = refusals(r, '<!--').replace(/\n/g, ' -->\n');
  for (const g of ok(r)) {
    const t = g.topology;
    const lines = [`<!-- guest ${g.name}: copy into its <domain> (libvirt domain XML: cputune, numatune, cpu) -->`, `<vcpu placement='static'>${g.request.vcpus}</vcpu>`];
    const io = Object.keys(g.iothreads);
    if (io.length) lines.push(`<iothreads>${io.length}</iothreads>`);
    lines.push('<cputune>');
    for (const v of g.vcpus) lines.push(`  <vcpupin vcpu='${v.vcpu}' cpuset='${formatCpulist(v.cpus)}'/>`);
    if (g.emulator?.length) lines.push(`  <emulatorpin cpuset='${formatCpulist(g.emulator)}'/>`);
    // libvirt numbers IOThreads from 1.
    io.forEach((k, i) => lines.push(`  <iothreadpin iothread='${i + 1}' cpuset='${formatCpulist(g.iothreads[k]!)}'/>`));
    lines.push('</cputune>', '<numatune>', `  <memory mode='strict' nodeset='${memnodes(g)}'/>`);
    for (const c of g.cells) lines.push(`  <memnode cellid='${c.guestCell}' mode='strict' nodeset='${c.hostNode}'/>`);
    lines.push('</numatune>', "<cpu mode='host-passthrough'>", `  <topology sockets='${t.sockets}' dies='${t.dies}' cores='${t.cores}' threads='${t.threads}'/>`, '  <numa>');
    for (const c of g.cells) lines.push(`    <cell id='${c.guestCell}' cpus='${formatCpulist(c.vcpus)}' memory='${c.memoryMiB}' unit='MiB'/>`);
    lines.push('  </numa>', '</cpu>');
    out += lines.join('\n') + '\n';
  }
  return out;
}

export function renderVirshPlan(r: PlanResult): string {
  let out = '# drop --live for a guest that is shut off; drop --config to change only the running guest\n' + refusals(r, '#');
  for (const g of ok(r)) {
    out += `# ${g.name}\n`;
    for (const v of g.vcpus) out += `virsh vcpupin ${g.name} ${v.vcpu} ${formatCpulist(v.cpus)} --live --config\n`;
    if (g.emulator?.length) out += `virsh emulatorpin ${g.name} ${formatCpulist(g.emulator)} --live --config\n`;
    Object.keys(g.iothreads).forEach((k, i) => (out += `virsh iothreadpin ${g.name} ${i + 1} ${formatCpulist(g.iothreads[k]!)} --live --config\n`));
    out += `virsh numatune ${g.name} --mode strict --nodeset ${memnodes(g)} --config\n`;
  }
  return out;
}

/** The guest topology as a QEMU -smp argument, through the shared topology renderer. */
export function guestTopologyOf(g: GuestPlanOk): GuestTopology {
  const t = g.topology;
  return { drawers: 1, books: 1, sockets: t.sockets, dies: t.dies, clusters: t.clusters, cores: t.cores, threads: t.threads, cpus: g.request.vcpus, maxcpus: g.request.vcpus };
}

function smpArg(g: GuestPlanOk): string {
  try {
    return renderTopology(guestTopologyOf(g), 'qemu').trim();
  } catch {
    const t = g.topology;
    return `-smp ${g.request.vcpus},sockets=${t.sockets},cores=${t.cores},threads=${t.threads}`;
  }
}

export function renderQemuPlan(r: PlanResult): string {
  let out = refusals(r, '#');
  for (const g of ok(r)) {
    const t = g.topology;
    const args = [`qemu-system-x86_64 -name guest=${g.name},debug-threads=on`, smpArg(g), `-m ${g.request.memoryMiB}`];
    for (const c of g.cells) {
      args.push(`-object memory-backend-ram,id=mem${c.guestCell},size=${c.memoryMiB}M,host-nodes=${c.hostNode},policy=bind`);
      args.push(`-numa node,nodeid=${c.guestCell},cpus=${formatCpulist(c.vcpus)},memdev=mem${c.guestCell}`);
    }
    for (const k of Object.keys(g.iothreads)) args.push(`-object iothread,id=${k}`);
    out += `# ${g.name}: start, then pin its threads (debug-threads=on names vCPU threads "CPU N/KVM" or "CPU N/TCG")\n`;
    out += args.join(' \\\n  ') + ' ...\n';
    out += `PID=$(pgrep -f -- '-name guest=${g.name},')\n`;
    out += `tid() { ps -T -o spid=,comm= -p "$PID" | awk -v a="$1" -v b="$2" '$2==a && index($3,b)==1 {print $1}'; }\n`;
    for (const v of g.vcpus) out += `taskset -pc ${formatCpulist(v.cpus)} $(tid CPU ${v.vcpu}/)\n`;
    for (const [k, cpus] of Object.entries(g.iothreads)) out += `taskset -pc ${formatCpulist(cpus)} $(tid IO ${k})\n`;
    if (g.emulator?.length) {
      out += `for t in $(ps -T -o spid=,comm= -p "$PID" | awk '$2!="CPU" && $2!="IO" {print $1}'); do taskset -pc ${formatCpulist(g.emulator)} "$t"; done\n`;
    }
  }
  return out;
}

export function renderKubevirtPlan(r: PlanResult): string {
  let out = refusals(r, '#');
  for (const g of ok(r)) {
    const warn: string[] = [];
    const dedicated = g.request.policy !== 'shared';
    if (g.request.policy === 'mixed') warn.push('KubeVirt has no mixed policy: all vCPUs get dedicated CPUs');
    if (g.request.threads !== 'prefer') warn.push(`KubeVirt has no thread policy (threads=${g.request.threads}): use the kubelet's full-pcpus-only CPU manager option for whole cores`);
    warn.push(`KubeVirt's CPU manager (static policy) picks the host CPUs; kvcpu's plan for reference: ${g.vcpus.map((v) => `${v.vcpu}->${formatCpulist(v.cpus)}`).join(' ')}`);
    const cpu: Record<string, unknown> = { sockets: g.topology.sockets, cores: g.topology.cores, threads: g.topology.threads };
    if (dedicated) cpu.dedicatedCpuPlacement = true;
    if (g.request.emulator === 'isolate') cpu.isolateEmulatorThread = true;
    if (g.cells.length > 1) cpu.numa = { guestMappingPassthrough: {} };
    const doc = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: g.name },
      spec: {
        domain: {
          cpu,
          resources: { requests: { memory: `${g.request.memoryMiB}Mi` }, limits: { cpu: String(g.request.vcpus), memory: `${g.request.memoryMiB}Mi` } },
          devices: {},
        },
      },
    };
    out += warn.map((w) => `# ${w}\n`).join('') + stringify(doc) + '---\n';
  }
  return out;
}

export function renderNovaPlan(r: PlanResult, host?: PlanHost): string {
  let out = refusals(r, '#');
  const smt = host ? host.cores.some((c) => c.length > 1) : false;
  for (const g of ok(r)) {
    const q = g.request;
    const props: [string, string][] = [['hw:cpu_policy', q.policy]];
    if (q.policy !== 'shared') props.push(['hw:cpu_thread_policy', q.threads]);
    if (q.policy === 'mixed') props.push(['hw:cpu_dedicated_mask', formatCpulist(q.dedicatedVcpus ?? [])]);
    if (q.emulator === 'isolate') props.push(['hw:emulator_threads_policy', 'isolate']);
    props.push(['hw:numa_nodes', String(g.cells.length)]);
    props.push(['hw:cpu_sockets', String(g.topology.sockets)], ['hw:cpu_cores', String(g.topology.cores)], ['hw:cpu_threads', String(g.topology.threads)]);
    out += `# ${g.name}: Nova places the vCPUs itself (nova/virt/hardware.py); these extra specs ask for the same policies\n`;
    if (q.threads === 'isolate' && smt && host && !host.legacy) out += '# warning: Nova refuses hw:cpu_thread_policy=isolate on SMT hosts that use cpu_dedicated_set (bug 1889633)\n';
    out += `openstack flavor create --vcpus ${q.vcpus} --ram ${q.memoryMiB} --disk 10 ${g.name}\n`;
    out += `openstack flavor set ${g.name} ${props.map(([k, v]) => `--property ${k}=${v}`).join(' ')}\n`;
  }
  return out;
}

export function renderTextPlan(r: PlanResult): string {
  let out = '';
  for (const g of r.guests) {
    if (!g.fits) {
      out += `guest ${g.name}: REFUSED: ${g.failed}\n`;
      for (const why of g.reasons.slice(0, 8)) out += `  ${why}\n`;
      continue;
    }
    const t = g.topology;
    out += `guest ${g.name}: ${g.request.vcpus} vCPUs, ${g.request.policy}, threads=${g.request.threads}, emulator=${g.request.emulator}; topology sockets=${t.sockets} cores=${t.cores} threads=${t.threads}\n`;
    out += renderTable(
      ['VCPU', 'CPUS', 'NODE', 'KIND'],
      g.vcpus.map((v) => [v.vcpu, formatCpulist(v.cpus), v.node, v.dedicated ? 'dedicated' : 'shared']),
      { right: [0] },
    ).replace(/^(?=.)/gm, '  ');
    out += `  emulator: ${g.emulator?.length ? formatCpulist(g.emulator) : '-'}\n`;
    for (const [k, v] of Object.entries(g.iothreads)) out += `  ${k}: ${formatCpulist(v)}\n`;
    for (const why of g.reasons) out += `  why: ${why}\n`;
  }
  out += `host ${r.host} after: pinned ${r.hostAfter.pinned || '-'}; free dedicated ${r.hostAfter.freeDedicated || '-'}\n`;
  for (const n of r.hostAfter.nodes) out += `  node ${n.id}: shared vCPUs ${n.sharedVcpus}/${n.sharedCapacity}, memory ${n.memoryUsedMiB}${n.memoryMiB === null ? '' : `/${n.memoryMiB}`} MiB\n`;
  for (const n of r.notes) out += `note: ${n}\n`;
  return out;
}

export function renderPlan(r: PlanResult, format: PlanFormat, host?: PlanHost): string {
  switch (format) {
    case 'json':
      return JSON.stringify(toPinPlanJson(r), null, 2) + '\n';
    case 'libvirt':
      return renderLibvirtPlan(r);
    case 'virsh':
      return renderVirshPlan(r);
    case 'qemu':
      return renderQemuPlan(r);
    case 'kubevirt':
      return renderKubevirtPlan(r);
    case 'nova':
      return renderNovaPlan(r, host);
    default:
      return renderTextPlan(r);
  }
}
