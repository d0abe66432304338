import { Option } from 'commander';
import { expandCpulist, parseCpulist } from '../../core/cpulist.ts';
import { KvcpuError } from '../../core/errors.ts';
import { readHost } from '../../host/read-host.ts';
import type { HostSnapshot } from '../../host/types.ts';
import type { RenderOptions } from '../../render/render-topology.ts';
import { TOPOLOGY_FORMATS, type TopologyFormat } from '../../render/topology-formats.ts';
import { chooseNovaTopology, ImagePropertyError, novaTopologyWarnings, type NovaTopologyRequest, type Sct } from '../../topology/nova-topology.ts';
import { novaAnswerJson, suggestionJson } from '../../app/topology-json.ts';
import { GUEST_OSES, suggestTopology, type GuestOs, type TopologySuggestion } from '../../topology/suggest-topology.ts';
import { act, collect, parsePositiveInt, readAll, type RegisterCommand } from '../command-kit.ts';
import { paint, warnRendering, writeJson, type CliIo } from '../output.ts';

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
  explain?: boolean;
  libvirtVersion?: string;
}

interface NovaOpts {
  vcpus?: number;
  flavor?: string[];
  image?: string[];
  threads: boolean;
  batch?: boolean;
  json?: boolean;
}

// A --host snapshot file is checked by the host schema (zod) and a --batch line by the batch
// schema: both load only when asked, so `topology suggest` on this host starts without zod.
async function loadHost(o: SuggestOpts): Promise<HostSnapshot> {
  if (o.host && o.root)
    throw new KvcpuError('E_USAGE', 'give --root or --host, not both', {
      hint: '--root DIR reads a captured tree, --host FILE a `kvcpu host --json` snapshot',
    });
  if (!o.host) return readHost({ root: o.root ?? '/' });
  return (await import('../../app/load-host.ts')).loadHostSnapshot(o.host);
}

function describeTopology(s: TopologySuggestion): string {
  const t = s.topology;
  const parts = [`${t.sockets} socket${t.sockets > 1 ? 's' : ''}`];
  if (t.dies > 1) parts.push(`${t.dies} dies`);
  parts.push(`${t.cores} core${t.cores > 1 ? 's' : ''}`, `${t.threads} thread${t.threads > 1 ? 's' : ''}`);
  const hot = t.maxcpus > t.cpus ? ` (${t.cpus} present, ${t.maxcpus - t.cpus} hot-pluggable)` : '';
  return `${parts.join(' x ')} = ${t.maxcpus} vCPUs${hot}`;
}

/** The explanation (reasons, pins, NUMA, warnings), written to `write` (stdout without --format, else stderr). */
function explainSuggestion(io: CliIo, write: (t: string) => void, s: TopologySuggestion): void {
  const p = paint(io);
  write(`${p.bold('guest topology:')} ${describeTopology(s)}  (machine ${s.machine})\n`);
  for (const r of s.reasons) write(`  ${r}\n`);
  if (s.pin) {
    write(`${p.bold('pin')} (vCPU:host CPU): ${s.pin.map((x) => `${x.vcpu}:${x.hostCpu}`).join(' ')}\n`);
  }
  for (const n of s.numa) write(`${p.bold('guest NUMA node')} ${n.guestNode}: vCPUs ${n.vcpus} -> host node ${n.hostNode ?? '?'} (CPUs ${n.hostCpus})\n`);
  for (const w of s.warnings) write(`${p.yellow('warning:')} ${w}\n`);
}

/**
 * The machine type a host's architecture runs guests on: arm64 hosts `virt` with GICv3 (arm64
 * servers have a GICv3; GICv2, virt's default, caps guests at 8 vCPUs), s390x s390-ccw-virtio.
 */
export function machineForHost(arch: string): string | undefined {
  if (arch === 'aarch64') return 'virt,gic-version=3';
  if (arch === 's390x') return 's390-ccw-virtio';
  return undefined;
}

/** The plan a suggestion describes, for every consumer's renderer. */
export function suggestionRenderOptions(
  s: TopologySuggestion,
  host: HostSnapshot,
  o: { name?: string; memory?: number; libvirtVersion?: string },
): RenderOptions {
  const pins = s.pin ? s.pin.map((x) => ({ vcpu: x.vcpu, cpus: [x.hostCpu] })) : null;
  return {
    machine: s.machine,
    name: o.name ?? 'guest',
    memoryMiB: o.memory ?? 1024,
    cells: s.numa.map((n) => ({ vcpus: parseCpulist(n.vcpus), hostNode: n.hostNode })),
    pins,
    ...(o.libvirtVersion ? { libvirtVersion: o.libvirtVersion } : {}),
    hostCpus: parseCpulist(host.cpus.online).length,
  };
}

function parsePairs(items: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    for (const part of item.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq <= 0)
        throw new KvcpuError('E_BAD_INPUT', `${what} item '${part}' is not KEY=VALUE`, {
          hint: `e.g. ${what === '--flavor' ? '--flavor hw:cpu_max_sockets=2' : '--image hw_cpu_threads=2'}`,
        });
      out[part.slice(0, eq).trim()] = part.slice(eq + 1);
    }
  }
  return out;
}

function fmtSct(t: Sct): string {
  return `${t[0]}s x ${t[1]}c x ${t[2]}t`;
}

export const registerTopology: RegisterCommand = (program, ctx) => {
  const topology = program
    .command('topology')
    .description('choose guest sockets/dies/cores/threads: from the host and pinning (suggest), or as OpenStack Nova would (nova)');

  topology
    .command('suggest')
    .description('suggest a guest vCPU topology from the host topology, the pinned host CPUs and the guest OS, and render it')
    .requiredOption('--vcpus <n>', 'vCPUs present at boot', parsePositiveInt)
    .option(
      '--cpus <list>',
      'host CPUs the guest will be pinned to, one per vCPU (e.g. 4-7,68-71): a set; kvcpu maps vCPUs to them in topology order (shown as pin)',
    )
    .addOption(new Option('--os <os>', 'guest OS (socket limits)').choices([...GUEST_OSES]).default('linux'))
    .option('--max <n>', 'maxcpus: hot-pluggable headroom (laid out as whole sockets or cores)', parsePositiveInt)
    .option('--root <dir>', 'read the host from a captured tree (default: this host)')
    .option('--host <file>', 'read the host from a `kvcpu host --json` snapshot')
    .addOption(
      new Option(
        '--format <format>',
        'print one document for a consumer on stdout (the explanation goes to stderr with --explain); json = the plan and every rendering',
      ).choices(TOPOLOGY_FORMATS),
    )
    .option('--machine <type>', 'QEMU machine type to validate against (default pc-q35-7.2; virt on arm64 hosts)')
    .option('--memory <mib>', 'guest RAM (MiB), split over the guest NUMA nodes', parsePositiveInt, 1024)
    .option('--name <name>', 'VM name for libvirt/kubevirt/nova/proxmox output', 'guest')
    .option('--libvirt-version <v>', 'libvirt the domain XML is for (clusters need 10.1)', '9.0')
    .option('--explain', 'with --format: write the reasons to stderr')
    .option('--json', 'print the suggestion as JSON')
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
      act(ctx, async (o: SuggestOpts) => {
        // The renderers (and KubeVirt's YAML library) load for `suggest`, not for `topology nova`.
        const [host, { renderAllJson, renderContext, renderTopologyDetailed }] = await Promise.all([loadHost(o), import('../../render/render-topology.ts')]);
        const machine = o.machine ?? machineForHost(host.arch);
        const s = suggestTopology({
          vcpus: o.vcpus,
          host,
          ...(o.cpus !== undefined ? { cpus: expandCpulist(o.cpus) } : {}),
          ...(o.os ? { os: o.os } : {}),
          ...(o.max !== undefined ? { max: o.max } : {}),
          ...(machine ? { machine } : {}),
        });
        const ropts = suggestionRenderOptions(s, host, o);
        if (o.json || o.format === 'json') {
          const all = renderAllJson(renderContext(s.topology, ropts), true);
          // `warnings` stays the suggestion's (topology, hot-plug, host rules); the renderings'
          // coded notes are `renderWarnings` (and each rendering's own `warnings`).
          const { warnings: renderWarnings, ...rest } = all;
          writeJson(ctx.io, { ...suggestionJson(s), ...rest, renderWarnings });
          return 0;
        }
        if (!o.format) {
          // No --format: the explanation and the QEMU rendering, for a person to read.
          const r = renderTopologyDetailed(s.topology, 'qemu', ropts);
          explainSuggestion(ctx.io, (t) => ctx.io.out(t), s);
          ctx.io.out(`\n${paint(ctx.io).dim('# --format qemu')}\n${r.text}`);
          return 0;
        }
        // --format: exactly one document on stdout; explanation and coded warnings on stderr.
        const r = renderTopologyDetailed(s.topology, o.format, ropts);
        if (o.explain) explainSuggestion(ctx.io, (t) => ctx.io.err(t), s);
        warnRendering(ctx.io, r.notes);
        ctx.io.out(r.text.endsWith('\n') ? r.text : r.text + '\n');
        return 0;
      }),
    );

  topology
    .command('nova')
    .description(
      "what OpenStack Nova 26.2.2 (Zed) chooses for flavor extra specs + image properties (hw:cpu_sockets, hw:cpu_max_*, hw_cpu_*), with Nova's errors and traps",
    )
    .option('--vcpus <n>', 'flavor vCPUs', parsePositiveInt)
    .option('--flavor <k=v>', 'flavor extra spec, repeatable or comma-separated (hw:cpu_sockets=2,hw:cpu_max_threads=1)', collect)
    .option('--image <k=v>', 'image property, repeatable or comma-separated (hw_cpu_threads=2)', collect)
    .option('--no-threads', 'hypervisor without thread support (VMware: allow_threads=False)')
    .option(
      '--batch',
      'read case objects {"vcpus","flavor_extra_specs","image_properties","allow_threads"} as JSON lines on stdin; write {"best","ranked"} or {"error":"<Nova exception>"} per line',
    )
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
          if (o.vcpus !== undefined || o.flavor || o.image)
            throw new KvcpuError('E_USAGE', '--batch reads cases from stdin; give no --vcpus/--flavor/--image', {
              hint: 'echo \'{"vcpus":8}\' | kvcpu topology nova --batch',
            });
          // The batch answerer is shared with the agent: app/nova-batch.ts.
          const { novaBatchAnswer } = await import('../../app/nova-batch.ts');
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
          if (e instanceof ImagePropertyError)
            throw new KvcpuError('E_BAD_INPUT', `${e.message}: Nova's ImageMeta.from_dict refuses it (ValueError)`, {
              hint: 'image hw_cpu_* properties are integers',
            });
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
