import { stringify } from 'yaml';
import { comments, coresPerSocket, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/**
 * A KubeVirt VirtualMachineInstance with `spec.domain.cpu.{sockets,cores,threads,maxSockets}`.
 * KubeVirt knows only sockets/cores/threads and hot-plugs whole sockets (maxSockets), so levels
 * between socket and core are folded into cores and a present count that is not a whole number
 * of sockets is rounded up — both said in a warning.
 */
export function renderKubevirt(c: RenderContext): RenderedTopology {
  const { t } = c;
  const warnings = [...c.warnings];
  const cores = coresPerSocket(t);
  const sockets = totalSockets(t);
  if (cores !== t.cores) warnings.push(`KubeVirt has no dies/clusters/modules: folded into cores=${cores} per socket`);
  if (sockets !== t.sockets) warnings.push(`KubeVirt has no drawers/books: folded into sockets=${sockets}`);
  const perSocket = cores * t.threads;
  const cpu: Record<string, number> = { sockets, cores, threads: t.threads };
  if (t.cpus < t.maxcpus) {
    const present = Math.ceil(t.cpus / perSocket);
    if (present * perSocket !== t.cpus) {
      warnings.push(
        `KubeVirt hot-plugs whole sockets of ${perSocket} vCPUs: ${t.cpus} present vCPUs cannot be expressed, rendered ${present * perSocket}`,
      );
    }
    cpu.sockets = present;
    cpu.maxSockets = sockets;
  }
  const doc = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: c.name },
    spec: { domain: { cpu, devices: {} } },
  };
  return { text: comments('#', warnings) + stringify(doc), warnings };
}
