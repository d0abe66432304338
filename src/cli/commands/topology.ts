import { Option } from 'commander';
import { parseCpulist } from '../../core/cpulist.ts';
import { KvcpuError } from '../../core/errors.ts';
import { loadHostSnapshot } from '../../app/load-host.ts';
import { readHost } from '../../host/read-host.ts';
import type { HostSnapshot } from '../../host/types.ts';
import { renderTopologyDetailed, TOPOLOGY_FORMATS, type TopologyFormat } from '../../render/render-topology.ts';
import {
  chooseNovaTopology,
  ImagePropertyError,
  novaTopologyWarnings,
  type NovaTopologyRequest,
  type Sct,
} from '../../topology/nova-topology.ts';
import { novaBatchAnswer } from '../../app/nova-batch.ts';
import { novaAnswerJson, suggestionJson } from '../../app/topology-json.ts';
import { numaQemuArgs } from '../../topology/numa-qemu-args.ts';
import { GUEST_OSES, suggestTopology, type GuestOs, type TopologySuggestion } from '../../topology/suggest-topology.ts';
import { act, collect, parsePositiveInt, readAll, type RegisterCommand } from '../command-kit.ts';
import { paint, writeJson, type CliIo } from '../output.ts';

interface SuggestOpts {
  vcpus: number;
  cpus?: string;
  os?: GuestOs;
  max?: number;
  root?: string;
  host?: string;
  format?: TopologyFormat;
  machine?: string;
  memory?: number;
  name?: string;
  json?: boolean;
}

interface NovaOpts {
  vcpus?: number;
  flavor?: string[];
  image?: string[];
  threads: boolean;
  batch?: boolean;
  json?: boolean;
}

function loadHost(o: SuggestOpts): HostSnapshot {
  if (o.host && o.root) throw new KvcpuError('E_USAGE', 'give --root or --host, not both', { hint: '--root DIR reads a captured tree, --host FILE a `kvcpu host --json` snapshot' });
  if (!o.host) return readHost({ root: o.root ?? '/' });
  return loadHostSnapshot(o.host);
}

function describeTopology(s: TopologySuggestion): string {
  const t = s.topology;
  const parts = [`${t.sockets} socket${t.sockets > 1 ? 's' : ''}`];
  if (t.dies > 1) parts.push(`${t.dies} dies`);
  parts.push(`${t.cores} core${t.cores > 1 ? 's' : ''}`, `${t.threads} thread${t.threads > 1 ? 's' : ''}`);
  const hot = t.maxcpus > t.cpus ? ` (${t.cpus} present, ${t.maxcpus - t.cpus} hot-pluggable)` : '';
  return `${parts.join(' x ')} = ${t.maxcpus} vCPUs${hot}`;
}

function printSuggestion(io: CliIo, s: TopologySuggestion, rendered: string, format: TopologyFormat): void {
  const p = paint(io);
  io.out(`${p.bold('guest topology:')} ${describeTopology(s)}  (machine ${s.machine})\n`);
  for (const r of s.reasons) io.out(`  ${r}\n`);
  if (s.pin) {
    io.out(`${p.bold('pin')} (vCPU:host CPU): ${s.pin.map((x) => `${x.vcpu}:${x.hostCpu}`).join(' ')}\n`);
  }
  for (const n of s.numa) io.out(`${p.bold('guest NUMA node')} ${n.guestNode}: vCPUs ${n.vcpus} -> host node ${n.hostNode ?? '?'} (CPUs ${n.hostCpus})\n`);
  for (const w of s.warnings) io.out(`${p.yellow('warning:')} ${w}\n`);
  io.out(`\n${p.dim(`# --format ${format}`)}\n${rendered}`);
}

function parsePairs(items: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    for (const part of item.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq <= 0) throw new KvcpuError('E_BAD_INPUT', `${what} item '${part}' is not KEY=VALUE`, { hint: `e.g. ${what === '--flavor' ? '--flavor hw:cpu_max_sockets=2' : '--image hw_cpu_threads=2'}` });
      out[part.slice(0, eq).trim()] = part.slice(eq + 1);
    }
  }
  return out;
}

// The batch answerer is shared with the agent: app/nova-batch.ts.
export { novaBatchAnswer } from '../../app/nova-batch.ts';

function fmtSct(t: Sct): string {
  return `${t[0]}s x ${t[1]}c x ${t[2]}t`;
}

export const registerTopology: RegisterCommand = (program, ctx) => {
  const topology = program.command('topology').description('choose guest sockets/dies/cores/threads: from the host and pinning (suggest), or as OpenStack Nova would (nova)');

  topology
    .command('suggest')
    .description('suggest a guest vCPU topology from the host topology, the pinned host CPUs and the guest OS, and render it')
    .requiredOption('--vcpus <n>', 'vCPUs present at boot', parsePositiveInt)
    .option('--cpus <list>', 'host CPUs the guest will be pinned to, one per vCPU (e.g. 4-7,68-71)')
    .addOption(new Option('--os <os>', 'guest OS (socket limits)').choices([...GUEST_OSES]).default('linux'))
    .option('--max <n>', 'maxcpus: hot-pluggable headroom (laid out as whole sockets or cores)', parsePositiveInt)
    .option('--root <dir>', 'read the host from a captured tree (default: this host)')
    .option('--host <file>', 'read the host from a `kvcpu host --json` snapshot')
    .addOption(new Option('--format <format>', 'output for a consumer').choices(TOPOLOGY_FORMATS).default('qemu'))
    .option('--machine <type>', 'QEMU machine type to validate against (default pc-q35-7.2)')
    .option('--memory <mib>', 'guest RAM for the -numa lines of --format qemu (MiB)', parsePositiveInt, 1024)
    .option('--name <name>', 'VM name for libvirt/kubevirt output', 'guest')
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      `
Examples:
  kvcpu topology suggest --vcpus 8 --cpus 4-7,68-71
  kvcpu topology suggest --vcpus 16 --os windows-10 --max 24 --format libvirt
  kvcpu topology suggest --vcpus 8 --root ./captured-host --format json
Exit status: 0 ok, 2 bad input (E_CPUS_COUNT_MISMATCH, E_CPUS_NOT_ONLINE, E_VCPUS_EXCEED_HOST, E_MAX_LAYOUT, ...).`,
    )
    .action(
      act(ctx, (o: SuggestOpts) => {
        const host = loadHost(o);
        const s = suggestTopology({
          vcpus: o.vcpus,
          host,
          ...(o.cpus !== undefined ? { cpus: parseCpulist(o.cpus) } : {}),
          ...(o.os ? { os: o.os } : {}),
          ...(o.max !== undefined ? { max: o.max } : {}),
          ...(o.machine ? { machine: o.machine } : {}),
          // KubeVirt hot-plugs whole sockets only (spec.domain.cpu.maxSockets).
          ...(o.format === 'kubevirt' ? { hotplugUnit: 'socket' as const } : {}),
        });
        const format = o.format ?? 'qemu';
        const r = renderTopologyDetailed(s.topology, format, { machine: s.machine, name: o.name ?? 'guest' });
        let text = r.text.endsWith('\n') ? r.text : r.text + '\n';
        if (format === 'qemu' && s.numa.length > 0) {
          const presentSockets = s.hotplug.level === 'socket' ? s.topology.sockets - s.hotplug.steps : s.topology.sockets;
          const args = numaQemuArgs(s.numa, o.memory ?? 1024, { present: presentSockets, max: s.topology.sockets, dies: s.topology.dies });
          const lines = [`-m ${o.memory ?? 1024}`];
          for (let i = 0; i < args.length; i += 2) lines.push(`${args[i]} ${args[i + 1]}`);
          text += lines.join(' \\\n  ') + '\n';
        }
        if (o.json || format === 'json') {
          writeJson(ctx.io, suggestionJson(s, format === 'json' ? undefined : { format, text }));
          return 0;
        }
        printSuggestion(ctx.io, s, text, format);
        return 0;
      }),
    );

  topology
    .command('nova')
    .description("what OpenStack Nova 26.2.2 (Zed) chooses for flavor extra specs + image properties (hw:cpu_sockets, hw:cpu_max_*, hw_cpu_*), with Nova's errors and traps")
    .option('--vcpus <n>', 'flavor vCPUs', parsePositiveInt)
    .option('--flavor <k=v>', 'flavor extra spec, repeatable or comma-separated (hw:cpu_sockets=2,hw:cpu_max_threads=1)', collect)
    .option('--image <k=v>', 'image property, repeatable or comma-separated (hw_cpu_threads=2)', collect)
    .option('--no-threads', 'hypervisor without thread support (VMware: allow_threads=False)')
    .option('--batch', 'read case objects {"vcpus","flavor_extra_specs","image_properties","allow_threads"} as JSON lines on stdin; write {"best","ranked"} or {"error":"<Nova exception>"} per line')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      `
Examples:
  kvcpu topology nova --vcpus 8 --flavor hw:cpu_max_sockets=2 --image hw_cpu_threads=2
  echo '{"vcpus":16,"flavor_extra_specs":{"hw:cpu_sockets":"2"}}' | kvcpu topology nova --batch
Exit status: 0 Nova chooses a topology, 1 Nova raises (the exception class is printed), 2 bad input.`,
    )
    .action(
      act(ctx, async (o: NovaOpts) => {
        if (o.batch) {
          if (o.vcpus !== undefined || o.flavor || o.image) throw new KvcpuError('E_USAGE', '--batch reads cases from stdin; give no --vcpus/--flavor/--image', { hint: "echo '{\"vcpus\":8}' | kvcpu topology nova --batch" });
          const text = await readAll(ctx.io.stdin);
          let bad = false;
          for (const raw of text.split('\n')) {
            if (raw.trim() === '') continue;
            const a = novaBatchAnswer(raw);
            if ('error' in a && a.error.startsWith('E_')) bad = true;
            ctx.io.out(JSON.stringify(a) + '\n');
          }
          return bad ? 2 : 0;
        }
        if (o.vcpus === undefined) throw new KvcpuError('E_USAGE', 'missing --vcpus', { hint: 'kvcpu topology nova --vcpus 8 --flavor hw:cpu_sockets=2' });
        const req: NovaTopologyRequest = {
          vcpus: o.vcpus,
          flavorExtraSpecs: parsePairs(o.flavor, '--flavor'),
          imageProperties: parsePairs(o.image, '--image'),
          allowThreads: o.threads,
        };
        let r;
        try {
          r = chooseNovaTopology(req);
        } catch (e) {
          if (e instanceof ImagePropertyError) throw new KvcpuError('E_BAD_INPUT', `${e.message}: Nova's ImageMeta.from_dict refuses it (ValueError)`, { hint: 'image hw_cpu_* properties are integers' });
          throw e;
        }
        const warnings = novaTopologyWarnings(req, r);
        if (o.json) {
          writeJson(ctx.io, novaAnswerJson(r, warnings));
          return r.ok ? 0 : 1;
        }
        const p = paint(ctx.io);
        if (r.ok) {
          ctx.io.out(`${p.bold('Nova 26.2.2:')} ${o.vcpus} vCPUs -> ${r.best[0]} socket(s) x ${r.best[1]} core(s) x ${r.best[2]} thread(s)\n`);
          const lim = r.maximum.map((v) => (v === 65536 ? 'none' : String(v)));
          ctx.io.out(`preferred: sockets=${r.preferred[0]} cores=${r.preferred[1]} threads=${r.preferred[2]} (0 = no preference)\n`);
          ctx.io.out(`limits:    sockets=${lim[0]} cores=${lim[1]} threads=${lim[2]}\n`);
          ctx.io.out(`ranked (${r.ranked.length}): ${r.ranked.slice(0, 12).map(fmtSct).join(', ')}${r.ranked.length > 12 ? ', ...' : ''}\n`);
        } else {
          ctx.io.out(`${p.bold('Nova 26.2.2:')} ${p.red(r.error)}: ${r.message}\n`);
        }
        for (const w of warnings) ctx.io.out(`${p.yellow('warning:')} ${w}\n`);
        return r.ok ? 0 : 1;
      }),
    );
};
