import { Option, type Command } from 'commander';
import { act, parseNonNegativeInt, parsePositiveInt } from '../command-kit.ts';
import { paint, renderTable, writeJson, type CliContext } from '../output.ts';
import { KvcpuError } from '../../core/errors.ts';
import { baselineCpus, type BaselineOptions } from '../../cpu-baseline/baseline-cpus.ts';
import { compareCpu } from '../../cpu-baseline/compare-cpu.ts';
import { emptyCpuDef, type CpuDef } from '../../cpu-baseline/cpu-def.ts';
import { explainBaseline, renderExplanation } from '../../cpu-baseline/explain-baseline.ts';
import { parseCpuInput } from '../../cpu-baseline/parse-cpu-input.ts';
import { planPools } from '../../cpu-baseline/plan-pools.ts';
import { loadCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { readCpuInputs, readLiveHostCpu, readTextFile } from '../../cpu-baseline/read-cpu-inputs.ts';
import {
  BASELINE_FORMATS,
  baselineJson,
  NOT_IN_QEMU_7_2,
  renderKubevirt,
  renderLibvirtXml,
  renderNova,
  renderQemu,
  type BaselineFormat,
  type FeatureVocabulary,
} from '../../cpu-baseline/render-baseline.ts';
import { indexCpuMap, unknownModelHint, type X86Map } from '../../cpu-baseline/x86-map.ts';
import { readHypervisorContext, readHypervisorHostCpu } from '../../cpu-baseline/read-hypervisor-context.ts';
import type { Accel } from '../../cpu-models/types.ts';

const cpuMapOption = () =>
  new Option('--cpu-map <source>', 'libvirt CPU map: installed (/usr/share/libvirt/cpu_map), snapshot (shipped), auto')
    .choices(['auto', 'installed', 'snapshot'])
    .default('auto');

function x86(source: string): X86Map {
  return indexCpuMap(loadCpuMap({ source: source as 'auto' | 'installed' | 'snapshot' }));
}

/** The vocabulary the inputs speak: libvirt names for XML, Linux names for cpuinfo/host reports. */
function inputVocabulary(defs: CpuDef[]): FeatureVocabulary {
  return defs.every((d) => d.kind === 'cpuinfo' || d.kind === 'host-json') ? 'linux' : 'libvirt';
}

/** Models a QEMU command line can name: libvirt's list minus those QEMU 7.2 lacks. */
function qemuModels(x: X86Map): Set<string> {
  return new Set(x.models.map((m) => m.def.name).filter((n) => !NOT_IN_QEMU_7_2.has(n)));
}

interface BaselineCliOptions {
  features?: boolean;
  migratable?: boolean;
  format: BaselineFormat;
  names?: FeatureVocabulary;
  json?: boolean;
  quiet?: boolean;
  cpuMap: string;
  hypervisor?: Accel;
}

function addBaseline(cpu: Command, ctx: CliContext): void {
  cpu
    .command('baseline')
    .description('the migration-safe guest CPU for a pool of hosts, like `virsh cpu-baseline`, with what each host loses')
    .argument('<inputs...>', 'libvirt <cpu>/capabilities/domcapabilities XML, `kvcpu host --json` output, /proc/cpuinfo copies (- = stdin)')
    .option('--features', 'list every feature of the model explicitly (virsh --features)')
    .option('--migratable', 'leave out non-migratable features (invtsc, xsaves)')
    .addOption(
      new Option('--format <format>', 'output: libvirt guest XML, QEMU -cpu value, KubeVirt cpu YAML, nova.conf, JSON')
        .choices(BASELINE_FORMATS)
        .default('libvirt'),
    )
    .addOption(
      new Option('--names <vocabulary>', "feature names in JSON (default: the inputs' own: libvirt for XML, linux for cpuinfo)").choices([
        'libvirt',
        'qemu',
        'linux',
      ]),
    )
    .option('--json', 'same as --format json')
    .addOption(
      new Option(
        '--hypervisor <accel>',
        "also fit this host's QEMU under kvm or tcg, like `virsh hypervisor-cpu-baseline` (its models, blockers, features)",
      ).choices(['kvm', 'tcg']),
    )
    .option('-q, --quiet', 'do not print the explanation (stderr)')
    .addOption(cpuMapOption())
    .action(
      act(ctx, async (inputs: string[], opts: BaselineCliOptions) => {
        const format: BaselineFormat = opts.json ? 'json' : opts.format;
        const x = x86(opts.cpuMap);
        const defs = await readCpuInputs(x, inputs, ctx.io.stdin);
        const onQemu = format === 'qemu' || format === 'kubevirt' || format === 'nova';
        const hyp = opts.hypervisor ? await readHypervisorContext(opts.hypervisor) : null;
        const bopts: BaselineOptions = {
          expandFeatures: !!opts.features,
          migratable: !!opts.migratable,
          ...(onQemu ? { allowedModels: qemuModels(x) } : {}),
          ...(hyp ? { hypervisor: hyp } : {}),
        };
        const r = baselineCpus(x, defs, bopts);
        const explain = explainBaseline(x, defs, r, hyp ? { hypervisor: hyp.source } : {});
        if (hyp) explain.notes.push(`fitted to ${hyp.source}`, ...hyp.notes);
        if (format === 'json') {
          const vocab = opts.names ?? inputVocabulary(defs);
          writeJson(ctx.io, {
            ...baselineJson(r.cpu, vocab),
            hosts: defs.length,
            libvirt: x.map.source.libvirt,
            explain,
          });
          return 0;
        }
        let out: string;
        const extraNotes: string[] = [];
        if (format === 'libvirt') out = renderLibvirtXml(r.cpu);
        else if (format === 'qemu') {
          const q = renderQemu(r.cpu);
          out = q.text;
          if (q.dropped.length) extraNotes.push(`QEMU has no property for ${q.dropped.join(', ')}: left out`);
        } else if (format === 'kubevirt') out = renderKubevirt(r.cpu);
        else out = renderNova(r.cpu);
        ctx.io.out(out);
        if (!opts.quiet) {
          ctx.io.err(renderExplanation(explain, r.cpu.model));
          for (const n of extraNotes) ctx.io.err(`# note: ${n}\n`);
        }
        return 0;
      }),
    );
}

/** A guest CPU from a file (XML, kvcpu JSON, cpuinfo, host JSON) or a bare model name. */
function readGuest(x: X86Map, arg: string): CpuDef {
  let text: string | null = null;
  try {
    text = readTextFile(arg);
  } catch (e) {
    if ((e as KvcpuError).code !== 'E_NOT_FOUND') throw e;
  }
  if (text === null) {
    if (!/^[A-Za-z0-9][\w.+-]*$/.test(arg)) throw new KvcpuError('E_NOT_FOUND', `${arg}: no such file`, { hint: 'give a CPU XML file or a model name' });
    if (!x.modelByName.has(arg)) {
      throw new KvcpuError('E_CPU_UNKNOWN_MODEL', `${arg} is neither a file nor a libvirt CPU model`, { hint: unknownModelHint(x, arg) });
    }
    const g = emptyCpuDef(arg, 'model-name', 'guest');
    g.model = arg;
    g.mode = 'custom';
    g.match = 'exact';
    return g;
  }
  const defs = parseCpuInput(x, text, arg);
  return defs[0]!;
}

function readHostArg(x: X86Map, host: string, root: string): CpuDef {
  if (host === 'live') return readLiveHostCpu(x, root);
  const defs = parseCpuInput(x, readTextFile(host), host);
  if (defs.length !== 1) {
    throw new KvcpuError('E_BAD_INPUT', `${host} holds ${defs.length} CPU definitions; --host needs exactly one`, { hint: 'split the file' });
  }
  return defs[0]!;
}

function addCompare(cpu: Command, ctx: CliContext): void {
  cpu
    .command('compare')
    .description(
      'can this host run that guest CPU? identical / superset / incompatible with the missing features, like `virsh cpu-compare` (or `hypervisor-cpu-compare` with --hypervisor)',
    )
    .argument('<guest>', 'guest CPU: libvirt <cpu> XML file (domain, baseline output), kvcpu JSON, or a libvirt model name')
    .option(
      '--host <host>',
      "host CPU: live (this host's /proc/cpuinfo), `kvcpu host --json` file, cpuinfo file, libvirt host <cpu>, `virsh capabilities` or `virsh domcapabilities` (host-model) XML",
      'live',
    )
    .option('--root <dir>', 'root prefix for --host live', '/')
    .addOption(
      new Option(
        '--hypervisor <accel>',
        "compare with what this host's QEMU gives a guest under kvm or tcg, like `virsh hypervisor-cpu-compare` (instead of --host)",
      ).choices(['kvm', 'tcg']),
    )
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .addOption(cpuMapOption())
    .action(
      act(ctx, async (guestArg: string, opts: { host: string; root: string; format: string; json?: boolean; cpuMap: string; hypervisor?: Accel }) => {
        const x = x86(opts.cpuMap);
        if (opts.hypervisor && opts.host !== 'live')
          throw new KvcpuError('E_USAGE', '--hypervisor and --host name two different host CPUs', { hint: 'give one of them' });
        const host = opts.hypervisor ? await readHypervisorHostCpu(x, opts.hypervisor, opts.root) : readHostArg(x, opts.host, opts.root);
        const guest = readGuest(x, guestArg);
        const r = compareCpu(x, host, guest);
        const code = r.result === 'incompatible' ? 1 : 0;
        if (opts.json || opts.format === 'json') {
          writeJson(ctx.io, {
            result: r.result,
            missing: r.missing,
            forbidden: r.forbidden,
            extra: r.extra,
            message: r.message,
            host: host.label,
            guest: guest.label,
            notes: host.notes,
          });
          return code;
        }
        const p = paint(ctx.io);
        if (r.result === 'identical') ctx.io.out(`CPU described in ${guest.label} is ${p.green('identical')} to host CPU (${host.label})\n`);
        else if (r.result === 'superset') {
          ctx.io.out(`Host CPU (${host.label}) is a ${p.green('superset')} of CPU described in ${guest.label}\n`);
          ctx.io.out(`host features the guest CPU does not use (${r.extra.length}): ${r.extra.join(' ')}\n`);
        } else {
          ctx.io.out(`CPU described in ${guest.label} is ${p.red('incompatible')} with host CPU (${host.label})\n`);
          if (r.message) ctx.io.out(`${r.message}\n`);
        }
        for (const n of host.notes) ctx.io.out(`note: ${n}\n`);
        return code;
      }),
    );
}

function addPools(cpu: Command, ctx: CliContext): void {
  cpu
    .command('pools')
    .description("group hosts into migration pools (by vendor, then merging the pools that lose the fewest features) with each pool's baseline")
    .argument('<inputs...>', 'host CPUs: libvirt XML, `kvcpu host --json` output, /proc/cpuinfo copies (- = stdin)')
    .option('--max-pools <n>', 'stop merging at N pools', parsePositiveInt)
    .option('--max-loss <n>', 'fewest pools in which no host loses more than N features', parseNonNegativeInt)
    .option('--migratable', 'leave out non-migratable features (invtsc, xsaves)')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .addOption(
      new Option('--hypervisor <accel>', "fit every pool's baseline to this host's QEMU under kvm or tcg (its models and features)").choices(['kvm', 'tcg']),
    )
    .addOption(cpuMapOption())
    .action(
      act(
        ctx,
        async (
          inputs: string[],
          opts: { maxPools?: number; maxLoss?: number; migratable?: boolean; format: string; json?: boolean; cpuMap: string; hypervisor?: Accel },
        ) => {
          const x = x86(opts.cpuMap);
          const defs = await readCpuInputs(x, inputs, ctx.io.stdin);
          if (defs.length === 0) throw new KvcpuError('E_CPU_NO_INPUT', 'no CPU definitions given');
          const hyp = opts.hypervisor ? await readHypervisorContext(opts.hypervisor) : null;
          const plan = planPools(x, defs, {
            ...(hyp ? { hypervisor: hyp } : {}),
            migratable: !!opts.migratable,
            ...(opts.maxPools !== undefined ? { maxPools: opts.maxPools } : {}),
            ...(opts.maxLoss !== undefined ? { maxLoss: opts.maxLoss } : {}),
          });
          if (opts.json || opts.format === 'json') {
            writeJson(ctx.io, hyp ? { ...plan, hypervisor: hyp.source } : plan);
            return 0;
          }
          const short = (l: string[]) => (l.length > 2 ? `${l.slice(0, 2).join(', ')} +${l.length - 2}` : l.join(', '));
          ctx.io.out('Split vs merge (features lost to the pool baseline):\n');
          ctx.io.out(
            renderTable(
              ['POOLS', 'TOTAL LOST', 'WORST HOST', 'LAST MERGE'],
              plan.tradeoff.map((t) => [
                t.pools,
                t.totalLost,
                t.worstLost,
                t.merged ? `${short(t.merged.a)} + ${short(t.merged.b)}` : '(one pool per feature set)',
              ]),
              { right: [0, 1, 2] },
            ),
          );
          ctx.io.out(`\nChosen: ${plan.chosen} pool(s): ${plan.rule}${hyp ? `; fitted to ${hyp.source}` : ''}\n\n`);
          ctx.io.out(
            renderTable(
              ['POOL', 'VENDOR', 'HOSTS', 'MODEL', 'LEVEL', 'FEATURES', 'WORST LOSS'],
              plan.pools.map((pl, i) => [
                i + 1,
                pl.vendor,
                pl.hosts.length,
                pl.baseline.model,
                pl.level ?? '32-bit',
                pl.features,
                Math.max(...pl.hosts.map((h) => h.lost)),
              ]),
              { right: [0, 2, 5, 6] },
            ),
          );
          plan.pools.forEach((pl, i) => {
            const extra = [...pl.baseline.require.map((f) => `+${f}`), ...pl.baseline.disable.map((f) => `-${f}`)];
            ctx.io.out(`\npool ${i + 1}: ${pl.baseline.model}${extra.length ? ` ${extra.join(' ')}` : ''}\n`);
            if (pl.hosts.length <= 20) {
              for (const h of pl.hosts)
                ctx.io.out(`  ${h.label}: loses ${h.lost}${h.lost ? `: ${h.lostFeatures.slice(0, 12).join(' ')}${h.lost > 12 ? ' …' : ''}` : ''}\n`);
            } else {
              // Large pools: one line per loss count.
              const byLoss = new Map<number, string[]>();
              for (const h of pl.hosts) byLoss.set(h.lost, [...(byLoss.get(h.lost) ?? []), h.label]);
              for (const [l, hs] of [...byLoss].sort((a, b) => b[0] - a[0])) ctx.io.out(`  ${hs.length} host(s) lose ${l}: ${short(hs)}\n`);
            }
          });
          return 0;
        },
      ),
    );
}

/** Add `compare`, `baseline` and `pools` to the `kvcpu cpu` command group. */
export function addBaselineCommands(cpu: Command, ctx: CliContext): void {
  addCompare(cpu, ctx);
  addBaseline(cpu, ctx);
  addPools(cpu, ctx);
}
