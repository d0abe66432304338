import { stringify } from 'yaml';
import { formatCpulist } from '../core/cpulist.ts';
import { comments, coresPerSocket, done, forkContext, note, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

const KUBEVIRT_ARCH: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', s390x: 's390x' };

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * A KubeVirt VirtualMachineInstance (kubevirt.io/v1) that asks for the plan, shaped by KubeVirt
 * v1.9's admission rules (pkg/virt-api/webhooks/validating-webhook/admitters/vmi-create-admitter.go):
 * - memory is always requested (`ValidateVirtualMachineInstanceMandatoryFields`: "no memory
 *   requested"): `spec.domain.memory.guest` plus `resources.requests.memory`, and with
 *   dedicated CPUs `limits.memory` equal to it (`validateMemoryRequestsAndLimits`);
 * - pins become `dedicatedCpuPlacement` (the kubelet's CPU manager chooses the host CPUs) with
 *   at most 2 threads (`validateThreadCountOnDedicatedCPUPlacement`) and none on arm64
 *   (`validateThreadCountOnArchitecture`); `isolateEmulatorThread` only with it
 *   (`validateCPUIsolatorThread`);
 * - guest NUMA becomes `numa.guestMappingPassthrough`, which needs dedicatedCpuPlacement and
 *   hugepages (`validateNUMA`), and memory that is a whole number of pages
 *   (`validateHugepagesMemoryRequests`);
 * - the machine type must match the cluster's emulated machines (`validateEmulatedMachine`,
 *   default q35*|pc-q35* on amd64, virt* on arm64);
 * - KubeVirt knows sockets/cores/threads only and hot-plugs whole sockets (`maxSockets`,
 *   `validateCPUHotplug`).
 * Whatever KubeVirt cannot take is said in a comment and a coded warning.
 */
export function renderKubevirt(c0: RenderContext): RenderedTopology {
  const c = forkContext(c0);
  const { t } = c;
  let cores = coresPerSocket(t);
  const sockets = totalSockets(t);
  let threads = t.threads;
  if (cores !== t.cores) note(c, 'W_KUBEVIRT_FOLDED', `KubeVirt has no dies/clusters/modules: folded into cores=${cores} per socket`);
  if (sockets !== t.sockets) note(c, 'W_KUBEVIRT_FOLDED', `KubeVirt has no drawers/books: folded into sockets=${sockets}`);
  const arch = KUBEVIRT_ARCH[c.machine.arch] ?? c.machine.arch;
  // KubeVirt has no mixed policy: dedicatedCpuPlacement gives every vCPU a CPU of its own.
  const dedicated = c.dedicated || c.mixedDedicated !== null;
  if (c.mixedDedicated)
    note(c, 'W_KUBEVIRT_MIXED', `KubeVirt has no mixed policy: all vCPUs get dedicated CPUs (the plan dedicates ${formatCpulist(c.mixedDedicated)})`);
  if (c.iothreads.length)
    note(c, 'W_KUBEVIRT_IOTHREADS', `KubeVirt places IOThreads itself (ioThreadsPolicy): the plan's ${c.iothreads.length} IOThread pin(s) are not expressible`);
  if (c.dedicated && c.threadPolicy !== 'prefer' && t.threads === 1)
    note(
      c,
      'W_KUBEVIRT_THREAD_POLICY',
      `KubeVirt has no thread policy (${c.threadPolicy}): use the kubelet's full-pcpus-only CPU manager option for whole cores`,
    );
  if (threads > 1 && dedicated && (arch === 'arm64' || threads > 2)) {
    cores *= threads;
    note(
      c,
      'W_KUBEVIRT_THREADS',
      `KubeVirt refuses threads=${threads} with dedicatedCpuPlacement${arch === 'arm64' ? ' on arm64' : ' (at most 2)'}: folded into cores=${cores}`,
    );
    threads = 1;
  }
  const perSocket = cores * threads;
  const cpu: Record<string, unknown> = { sockets, cores, threads };
  const extra: string[] = [];
  if (t.cpus < t.maxcpus) {
    if (t.cpus % perSocket === 0) {
      cpu.sockets = t.cpus / perSocket;
      cpu.maxSockets = sockets;
    } else {
      // Re-lay the sockets so present and maximum vCPUs are whole sockets of the same size.
      let unit = gcd(t.cpus, t.maxcpus);
      while (unit % threads !== 0) unit--;
      const c2 = unit / threads;
      cpu.cores = c2;
      cpu.sockets = t.cpus / unit;
      cpu.maxSockets = t.maxcpus / unit;
      note(
        c,
        'W_KUBEVIRT_HOTPLUG_SOCKETS',
        `KubeVirt hot-plugs whole sockets: the plan's ${sockets} socket(s) x ${cores} cores (${t.cpus} of ${t.maxcpus} present) becomes ${String(cpu.sockets)} of ${String(cpu.maxSockets)} sockets x ${c2} cores x ${threads} threads`,
      );
    }
    extra.push(
      `KubeVirt hot-plugs whole sockets of ${(cpu.cores as number) * threads} vCPUs: raise spec.domain.cpu.sockets (up to maxSockets) on the VirtualMachine that owns this spec (LiveUpdate rollout)`,
    );
  }
  if (dedicated) cpu.dedicatedCpuPlacement = true;
  if (c.isolateEmulator) {
    if (dedicated) cpu.isolateEmulatorThread = true;
    else note(c, 'W_KUBEVIRT_EMULATOR', 'isolateEmulatorThread needs dedicatedCpuPlacement: the emulator thread stays with the vCPUs');
  }
  if (c.pins && dedicated) {
    note(
      c,
      'W_KUBEVIRT_PINS',
      `KubeVirt's CPU manager (static policy) chooses the host CPUs: kvcpu's pins are not expressible (${c.pins.map((p) => `${p.vcpu}:${formatCpulist(p.cpus)}`).join(' ')})`,
    );
  } else if (c.pins) {
    note(c, 'W_KUBEVIRT_PINS', "KubeVirt cannot pin floating vCPUs to CPU sets: they float over the pod's CPUs");
  }
  let memoryMiB = c.memoryMiB;
  const memory: Record<string, unknown> = {};
  if (c.cells.length > 1) {
    if (dedicated) {
      cpu.numa = { guestMappingPassthrough: {} };
      if (memoryMiB % 2 !== 0) {
        memoryMiB += 1;
        note(c, 'W_KUBEVIRT_HUGEPAGES', `guestMappingPassthrough needs 2Mi hugepages: memory rounded up from ${c.memoryMiB} to ${memoryMiB} MiB`);
      }
      memory.hugepages = { pageSize: '2Mi' };
      note(
        c,
        'W_KUBEVIRT_NUMA_PASSTHROUGH',
        `KubeVirt builds the guest NUMA cells from the host CPUs its CPU manager assigns (guestMappingPassthrough, NUMA feature gate): the plan's ${c.cells.length} cells (${c.cells.map((x) => `${formatCpulist(x.vcpus)}:${x.memoryMiB}MiB`).join(' ')}) hold only when the pod's CPUs span ${c.cells.length} host nodes; the node needs ${memoryMiB / 2} free 2Mi hugepages`,
      );
    } else {
      note(
        c,
        'W_KUBEVIRT_NUMA',
        `KubeVirt expresses guest NUMA only through guestMappingPassthrough, which needs dedicated CPUs: the plan's ${c.cells.length} guest NUMA cells are not rendered (the guest sees one node)`,
      );
    }
  }
  memory.guest = `${memoryMiB}Mi`;
  let machineType = c.machine.name;
  const allowed = arch === 'amd64' ? /^(q35|pc-q35)/ : arch === 'arm64' ? /^virt/ : /^s390-ccw-virtio/;
  if (!allowed.test(machineType)) {
    const fallback = arch === 'amd64' ? 'q35' : arch === 'arm64' ? 'virt' : 's390-ccw-virtio';
    note(c, 'W_KUBEVIRT_MACHINE', `KubeVirt's default emulated machines do not include ${machineType}: rendered ${fallback}`);
    machineType = fallback;
  }
  const resources: Record<string, unknown> = { requests: { memory: `${memoryMiB}Mi` } };
  if (dedicated) resources.limits = { memory: `${memoryMiB}Mi` };
  const doc = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: c.name },
    spec: {
      architecture: arch,
      domain: { machine: { type: machineType }, cpu, memory, resources, devices: {} },
    },
  };
  return done(c, comments('#', c.warnings, c.notes) + extra.map((x) => `# ${x}\n`).join('') + stringify(doc));
}
