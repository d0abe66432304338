import { comments, coresPerSocket, totalSockets, type RenderContext, type RenderedTopology } from './render-helpers.ts';

/**
 * Nova flavor extra specs pinning the topology exactly (`hw:cpu_sockets|cores|threads`), one
 * `key=value` per line, plus the `openstack flavor set` command. Nova has only
 * sockets/cores/threads and no vCPU hot-plug: other levels are folded into cores, and the flavor
 * must have vcpus = maxcpus (all present) — both said in a warning.
 */
export function renderNova(c: RenderContext): RenderedTopology {
  const { t } = c;
  const warnings = [...c.warnings];
  const cores = coresPerSocket(t);
  const sockets = totalSockets(t);
  if (cores !== t.cores) warnings.push(`Nova has no dies/clusters/modules: folded into hw:cpu_cores=${cores}`);
  if (sockets !== t.sockets) warnings.push(`Nova has no drawers/books: folded into hw:cpu_sockets=${sockets}`);
  if (t.cpus < t.maxcpus) {
    warnings.push(`Nova has no vCPU hot-plug: the flavor needs vcpus=${t.maxcpus} and all are present at boot (not ${t.cpus})`);
  }
  const specs: [string, number][] = [
    ['hw:cpu_sockets', sockets],
    ['hw:cpu_cores', cores],
    ['hw:cpu_threads', t.threads],
  ];
  const text =
    comments('#', warnings) +
    `# flavor vcpus=${t.maxcpus}\n` +
    specs.map(([k, v]) => `${k}=${v}\n`).join('') +
    `# openstack flavor set ${c.name} ${specs.map(([k, v]) => `--property ${k}=${v}`).join(' ')}\n`;
  return { text, warnings };
}
