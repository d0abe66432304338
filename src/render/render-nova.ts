import { formatCpulist } from '../core/cpulist.ts';
import { comments, coresPerSocket, done, forkContext, note, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/** Shell-safe single-quoted word. */
function sq(s: string): string {
  return /^[A-Za-z0-9_.:=,/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The Nova flavor for the plan: vCPUs, RAM and extra specs Nova 26 (Zed) reads back as the
 * plan — `hw:cpu_sockets|cores|threads` (get_best_cpu_topology takes them as the preferred
 * topology), guest NUMA as `hw:numa_nodes` + explicit `hw:numa_cpus.N`/`hw:numa_mem.N` (so an
 * uneven memory split is not Nova's implicit symmetric split, which raises
 * ImageNUMATopologyAsymmetric: nova/virt/hardware.py _get_numa_topology_auto), and pins as
 * `hw:cpu_policy=dedicated` + `hw:cpu_thread_policy` (+ `hw:emulator_threads_policy=isolate`).
 * Nova has only sockets/cores/threads, no vCPU hot-plug and picks the host CPUs itself: said in
 * comments and coded warnings.
 */
export function novaExtraSpecs(c0: RenderContext): { c: RenderContext; vcpus: number; ram: number; specs: [string, string][] } {
  const c = forkContext(c0);
  const { t } = c;
  const cores = coresPerSocket(t);
  const sockets = totalSockets(t);
  if (cores !== t.cores) note(c, 'W_NOVA_FOLDED', `Nova has no dies/clusters/modules: folded into hw:cpu_cores=${cores}`);
  if (sockets !== t.sockets) note(c, 'W_NOVA_FOLDED', `Nova has no drawers/books: folded into hw:cpu_sockets=${sockets}`);
  if (t.cpus < t.maxcpus) {
    note(c, 'W_NOVA_NO_HOTPLUG', `Nova has no vCPU hot-plug: the flavor needs vcpus=${t.maxcpus} and all are present at boot (not ${t.cpus})`);
  }
  if (c.machine.family !== 'pc-q35' && c.machine.arch === 'x86_64') {
    note(
      c,
      'W_NOVA_MACHINE',
      `Nova picks the machine type from the image (hw_machine_type=${c.machine.name}) or nova.conf [libvirt]hw_machine_type, not from the flavor`,
    );
  }
  const specs: [string, string][] = [];
  if (c.mixedDedicated) {
    // Nova >= 23 (Wallaby): mixed policy with the dedicated vCPUs as a mask.
    specs.push(['hw:cpu_policy', 'mixed'], ['hw:cpu_dedicated_mask', formatCpulist(c.mixedDedicated)], ['hw:cpu_thread_policy', c.threadPolicy]);
    note(c, 'W_NOVA_PINS', "Nova's scheduler and libvirt driver choose the host CPUs: kvcpu's pins are not expressible");
  } else if (c.dedicated) {
    specs.push(['hw:cpu_policy', 'dedicated'], ['hw:cpu_thread_policy', c.threadPolicy]);
    if (c.isolateEmulator) specs.push(['hw:emulator_threads_policy', 'isolate']);
    note(
      c,
      'W_NOVA_PINS',
      `Nova's scheduler and libvirt driver choose the host CPUs (nova/virt/hardware.py numa_fit_instance_to_host): kvcpu's pins are not expressible${c.pins ? ` (${c.pins.map((p) => `${p.vcpu}:${formatCpulist(p.cpus)}`).join(' ')})` : ''}`,
    );
  } else if (c.pins) {
    note(c, 'W_NOVA_PINS', 'Nova floats shared vCPUs over cpu_shared_set: per-vCPU CPU sets are not expressible');
  }
  specs.push(['hw:cpu_sockets', String(sockets)], ['hw:cpu_cores', String(cores)], ['hw:cpu_threads', String(t.threads)]);
  if (c.cells.length > 0) {
    specs.push(['hw:numa_nodes', String(c.cells.length)]);
    for (const x of c.cells) specs.push([`hw:numa_cpus.${x.id}`, formatCpulist(x.vcpus)], [`hw:numa_mem.${x.id}`, String(x.memoryMiB)]);
    if (c.cells.some((x) => x.hostNode !== null))
      note(c, 'W_NOVA_HOST_NODES', "Nova chooses the host NUMA nodes for the guest cells (NUMATopologyFilter): the plan's host nodes are not expressible");
  }
  return { c, vcpus: t.maxcpus, ram: c.memoryMiB, specs };
}

/** `openstack flavor create` + `openstack flavor set --property ...`: a script an operator runs. */
export function renderNova(c0: RenderContext): RenderedTopology {
  const { c, vcpus, ram, specs } = novaExtraSpecs(c0);
  const name = sq(c.name);
  const text =
    comments('#', c.warnings, c.notes) +
    `# flavor vcpus=${vcpus} ram=${ram}\n` +
    `openstack flavor create --vcpus ${vcpus} --ram ${ram} ${name}\n` +
    `openstack flavor set ${name} \\\n` +
    specs.map(([k, v]) => `  --property ${sq(`${k}=${v}`)}`).join(' \\\n') +
    '\n';
  return done(c, text);
}

/**
 * The same flavor as JSON: `flavor` is the body of POST /flavors (compute API), `extra_specs`
 * the body of POST /flavors/{id}/os-extra_specs; `warnings` carries what Nova cannot express.
 */
export function renderNovaJson(c0: RenderContext): RenderedTopology {
  const { c, vcpus, ram, specs } = novaExtraSpecs(c0);
  const doc = {
    flavor: { name: c.name, vcpus, ram, disk: 0 },
    extra_specs: Object.fromEntries(specs),
    warnings: c.notes,
  };
  return done(c, JSON.stringify(doc, null, 2) + '\n');
}
