import { Option } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { readCpuInputs, readLiveHostCpu } from '../../cpu-baseline/read-cpu-inputs.ts';
import { loadCpuMap } from '../../cpu-baseline/read-cpu-map.ts';
import { novaCpuTraits, type NovaCpuMode } from '../../cpu-baseline/nova-traits.ts';
import { indexCpuMap } from '../../cpu-baseline/x86-map.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { writeJson } from '../output.ts';

/** `kvcpu traits --format nova`: the HW_CPU_X86_* traits Nova's libvirt driver reports for a CPU. */
export const registerTraits: RegisterCommand = (program, ctx) => {
  program
    .command('traits')
    .description("the OpenStack Nova CPU traits (HW_CPU_X86_*) this host's CPU gets, computed as Nova's libvirt driver computes them")
    .addOption(new Option('--format <format>', 'trait vocabulary').choices(['nova']).default('nova'))
    .option('--root <dir>', 'the host at DIR (a `kvcpu capture` tree); default this host', '/')
    .option('--cpu <file>', 'a CPU input instead: libvirt <cpu>/capabilities XML, /proc/cpuinfo copy, `kvcpu host --json`')
    .addOption(new Option('--cpu-mode <mode>', "Nova's [libvirt] cpu_mode").choices(['host-model', 'host-passthrough', 'custom']).default('host-model'))
    .option('--cpu-models <models>', "Nova's [libvirt] cpu_models (custom mode), comma-separated")
    .option('--extra-flags <flags>', "Nova's [libvirt] cpu_model_extra_flags, comma-separated")
    .option('--all', 'also list the traits Nova reports as false (it removes them from the provider)')
    .option('--json', 'JSON: {"traits":[...true ones], "false"?:[...], "nova", "mode", "notes"}')
    .action(
      act(ctx, async (opts: { root: string; cpu?: string; cpuMode: NovaCpuMode; cpuModels?: string; extraFlags?: string; all?: boolean; json?: boolean }) => {
        const x = indexCpuMap(loadCpuMap({ source: 'auto' }));
        const defs = opts.cpu ? await readCpuInputs(x, [opts.cpu], ctx.io.stdin) : [readLiveHostCpu(x, opts.root)];
        if (defs.length !== 1) throw new KvcpuError('E_BAD_INPUT', `${opts.cpu} holds ${defs.length} CPU definitions`, { hint: 'give one host CPU' });
        const list = (s?: string) =>
          s
            ? s
                .split(',')
                .map((v) => v.trim())
                .filter(Boolean)
            : undefined;
        const models = list(opts.cpuModels);
        const extraFlags = list(opts.extraFlags);
        const r = novaCpuTraits(x, defs[0]!, { mode: opts.cpuMode, ...(models ? { models } : {}), ...(extraFlags ? { extraFlags } : {}) });
        const unset = Object.keys(r.traits)
          .filter((k) => !r.traits[k])
          .sort();
        if (opts.json) writeJson(ctx.io, { traits: r.set, ...(opts.all ? { false: unset } : {}), nova: r.nova, mode: r.mode, notes: r.notes });
        else {
          ctx.io.out(r.set.join('\n') + (r.set.length ? '\n' : ''));
          if (opts.all) ctx.io.out(unset.map((t) => `!${t}`).join('\n') + '\n');
          ctx.io.err(`# Nova ${r.nova} libvirt driver, cpu_mode=${r.mode}: ${r.set.length} trait(s) set\n${r.notes.map((n) => `# note: ${n}\n`).join('')}`);
        }
        return 0;
      }),
    );
};
