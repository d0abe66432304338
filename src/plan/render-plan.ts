import { formatCpulist } from '../core/cpulist.ts';
import { renderTable } from '../core/format.ts';
import type { PinPlan } from './pin-plan.ts';
import { KvcpuError, quoteInline } from '../core/errors.ts';
import { qemuOptionLines } from '../render/render-qemu.ts';
import { renderAllJson, renderContext, renderTopologyDetailed, type RenderNote, type RenderOptions, type TopologyFormat } from '../render/render-topology.ts';
import type { GuestTopology } from '../smp/types.ts';
import type { GuestPlanOk, PlanHost, PlanResult } from './plan-types.ts';

export type PlanFormat = 'text' | 'json' | 'libvirt' | 'virsh' | 'qemu' | 'kubevirt' | 'nova' | 'nova-json' | 'proxmox';
export const PLAN_FORMATS: PlanFormat[] = ['text', 'json', 'libvirt', 'virsh', 'qemu', 'kubevirt', 'nova', 'nova-json', 'proxmox'];

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
        ? {
            name: g.name,
            fits: true,
            request: g.request,
            cells: g.cells.map((c) => ({ ...c, vcpus: formatCpulist(c.vcpus), l3: c.l3 ? formatCpulist(c.l3) : null })),
            reasons: g.reasons,
          }
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

/** One planned guest as the plan every consumer renders (src/render): topology, NUMA cells, pins, policies. */
export function planRenderOptions(g: GuestPlanOk, host?: PlanHost): RenderOptions {
  const q = g.request;
  return {
    name: g.name,
    memoryMiB: q.memoryMiB,
    cells: g.cells.map((c) => ({ vcpus: c.vcpus, memoryMiB: c.memoryMiB, hostNode: c.hostNode })),
    pins: g.vcpus.map((v) => ({ vcpu: v.vcpu, cpus: v.cpus })),
    emulator: g.emulator,
    dedicated: q.policy === 'dedicated',
    threadPolicy: q.threads,
    isolateEmulator: q.emulator === 'isolate',
    iothreads: Object.values(g.iothreads).map((cpus) => ({ cpus })),
    mixedDedicated: q.policy === 'mixed' ? (q.dedicatedVcpus ?? []) : null,
    ...(host ? { hostCpus: host.online.length } : {}),
  };
}

/** The consumer's document for each fitting guest, with the refusals as comments. */
function renderEach(r: PlanResult, format: TopologyFormat, host: PlanHost | undefined, prefix: string, single: boolean, notes?: RenderNote[]): string {
  const fits = ok(r);
  if (single && fits.length > 1) {
    throw new KvcpuError(
      'E_PLAN_ONE_GUEST',
      `--format ${format} is one document for one guest; the plan has ${fits.length} (${fits.map((g) => g.name).join(', ')})`,
      {
        hint: 'plan one --guest at a time, or use --format json (every guest) or kubevirt/nova (several documents in one stream)',
      },
    );
  }
  let out = refusals(r, prefix);
  if (prefix === '<!--') out = out.replace(/\n/g, ' -->\n');
  const docs = fits.map((g) => {
    const d = renderTopologyDetailed(guestTopologyOf(g), format, planRenderOptions(g, host));
    notes?.push(...(d.notes ?? []).map((n) => ({ ...n, message: `${g.name}: ${n.message}` })));
    return d.text;
  });
  out += docs.join(format === 'kubevirt' ? '---\n' : '');
  return out;
}

/** A libvirt domain for the guest (src/render/render-libvirt.ts): cputune, numatune, NUMA cells, IOThreads. */
export function renderLibvirtPlan(r: PlanResult, host?: PlanHost, notes?: RenderNote[]): string {
  return renderEach(r, 'libvirt', host, '<!--', true, notes);
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
  return {
    drawers: 1,
    books: 1,
    sockets: t.sockets,
    dies: t.dies,
    clusters: t.clusters,
    cores: t.cores,
    threads: t.threads,
    cpus: g.request.vcpus,
    maxcpus: g.request.vcpus,
  };
}

export function renderQemuPlan(r: PlanResult, host?: PlanHost, notes?: RenderNote[]): string {
  let out = refusals(r, '#');
  for (const g of ok(r)) {
    // The guest's QEMU options come from the shared renderer (topology, NUMA cells, memory binding).
    const d = renderTopologyDetailed(guestTopologyOf(g), 'qemu', { ...planRenderOptions(g, host), machine: 'q35' });
    notes?.push(...(d.notes ?? []).filter((n) => n.code !== 'W_QEMU_PINS').map((n) => ({ ...n, message: `${g.name}: ${n.message}` })));
    const args = [`qemu-system-x86_64 -name guest=${g.name},debug-threads=on`, ...qemuOptionLines(d.text)];
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

/** One VirtualMachineInstance per guest (a YAML stream `kubectl apply -f` takes). */
export function renderKubevirtPlan(r: PlanResult, host?: PlanHost, notes?: RenderNote[]): string {
  return renderEach(r, 'kubevirt', host, '#', false, notes);
}

/** `openstack flavor create/set` for each guest; Nova places the vCPUs itself (nova/virt/hardware.py). */
export function renderNovaPlan(r: PlanResult, host?: PlanHost, notes?: RenderNote[]): string {
  let out = renderEach(r, 'nova', host, '#', false, notes);
  const smt = host ? host.cores.some((c) => c.length > 1) : false;
  if (host && smt && !host.legacy && ok(r).some((g) => g.request.threads === 'isolate')) {
    out = '# warning: Nova refuses hw:cpu_thread_policy=isolate on SMT hosts that use cpu_dedicated_set (bug 1889633)\n' + out;
  }
  return out;
}

export function renderTextPlan(r: PlanResult): string {
  let out = '';
  for (const g of r.guests) {
    if (!g.fits) {
      out += `guest ${quoteInline(g.name)}: REFUSED: ${quoteInline(g.failed ?? '')}\n`;
      for (const why of g.reasons.slice(0, 8)) out += `  ${quoteInline(why)}\n`;
      continue;
    }
    const t = g.topology;
    out += `guest ${quoteInline(g.name)}: ${g.request.vcpus} vCPUs, ${g.request.policy}, threads=${g.request.threads}, emulator=${g.request.emulator}; topology sockets=${t.sockets} cores=${t.cores} threads=${t.threads}\n`;
    out += renderTable(
      ['VCPU', 'CPUS', 'NODE', 'KIND'],
      g.vcpus.map((v) => [v.vcpu, formatCpulist(v.cpus), v.node, v.dedicated ? 'dedicated' : 'shared']),
      { right: [0] },
    ).replace(/^(?=.)/gm, '  ');
    out += `  emulator: ${g.emulator?.length ? formatCpulist(g.emulator) : '-'}\n`;
    for (const [k, v] of Object.entries(g.iothreads)) out += `  ${k}: ${formatCpulist(v)}\n`;
    for (const why of g.reasons) out += `  why: ${quoteInline(why)}\n`;
  }
  out += `host ${quoteInline(r.host)} after: pinned ${r.hostAfter.pinned || '-'}; free dedicated ${r.hostAfter.freeDedicated || '-'}\n`;
  for (const n of r.hostAfter.nodes)
    out += `  node ${n.id}: shared vCPUs ${n.sharedVcpus}/${n.sharedCapacity}, memory ${n.memoryUsedMiB}${n.memoryMiB === null ? '' : `/${n.memoryMiB}`} MiB\n`;
  for (const n of r.notes) out += `note: ${quoteInline(n)}\n`;
  return out;
}

/** `notes` collects what the consumer cannot express (coded), for stderr. */
export function renderPlan(r: PlanResult, format: PlanFormat, host?: PlanHost, notes?: RenderNote[]): string {
  switch (format) {
    case 'json': {
      // The pin plan (`kvcpu pin --plan` input) plus, per fitting guest, the plan every consumer renders and its renderings.
      const renderings = Object.fromEntries(ok(r).map((g) => [g.name, renderAllJson(renderContext(guestTopologyOf(g), planRenderOptions(g, host)), true)]));
      return JSON.stringify({ ...toPinPlanJson(r), renderings }, null, 2) + '\n';
    }
    case 'libvirt':
      return renderLibvirtPlan(r, host, notes);
    case 'virsh':
      return renderVirshPlan(r);
    case 'qemu':
      return renderQemuPlan(r, host, notes);
    case 'kubevirt':
      return renderKubevirtPlan(r, host, notes);
    case 'nova':
      return renderNovaPlan(r, host, notes);
    case 'nova-json':
      return renderEach(r, 'nova-json', host, '#', true, notes).replace(/^#.*\n/gm, '');
    case 'proxmox':
      return renderEach(r, 'proxmox', host, '#', true, notes);
    default:
      return renderTextPlan(r);
  }
}
