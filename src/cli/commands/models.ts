import { Option, type Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { accelFeatures, defaultAccel, liveUnavailable, loadLiveCatalog } from '../../cpu-models/live-catalog.ts';
import { resolveModel } from '../../cpu-models/catalog.ts';
import { modelRunnability, runnableSentence, summarizeRunnable } from '../../cpu-models/runnability.ts';
import type { Accel } from '../../cpu-models/types.ts';
import { modelLevel } from '../../cpu-models/model-level.ts';
import { qemuAvailable } from '../../qmp/start-qemu.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { paint, renderTable, writeJson } from '../output.ts';

interface ModelsOpts {
  accel?: Accel;
  machine?: string;
  runnable?: boolean;
  live?: boolean;
  root: string;
  json?: boolean;
}

/**
 * `kvcpu models [--accel kvm|tcg] [--runnable] [--live] [--json]`: QEMU's x86 CPU models (like
 * `qemu-system-x86_64 -cpu help`) with, per model, whether this host + accelerator can run it and
 * which features are missing — the same answer as QEMU's `unavailable-features`.
 */
export const registerModels: RegisterCommand = (program: Command, ctx) => {
  program
    .command('models')
    .description("list QEMU's x86 CPU models (-cpu help) with runnable yes/no and the missing features on this host")
    .addOption(new Option('--accel <accel>', 'accelerator to check against (default: kvm when /dev/kvm works, else tcg)').choices(['kvm', 'tcg']))
    .option('--runnable', 'only the models this host can run')
    .option('--machine <type>', 'machine type for alias resolution (pc-q35-7.2; pc-i440fx-4.0 and older report no alias-of)')
    .option('--live', 'also ask the installed QEMU (query-cpu-definitions) and show where it disagrees')
    .option('--root <dir>', 'read the host from a captured tree (KVM estimate only)', '/')
    .option('--json', 'machine-readable output')
    .action(
      act(ctx, async (opts: ModelsOpts) => {
        const accel = opts.accel ?? (await defaultAccel());
        const { catalog, source, installed } = await loadLiveCatalog();
        const supported = await accelFeatures(accel, { catalog, root: opts.root });
        let rows = modelRunnability(supported, catalog);
        if (opts.machine) {
          const machine = opts.machine;
          rows = rows.map((r) => ({ ...r, aliasOf: resolveModel(r.name, machine, catalog).aliasOf }));
        }
        let disagreements: { name: string; kvcpu: string[]; qemu: string[] }[] | null = null;
        if (opts.live) {
          if (!qemuAvailable()) throw new KvcpuError('E_QEMU_MISSING', '--live needs qemu-system-x86_64', { hint: 'apt-get install qemu-system-x86' });
          const live = await liveUnavailable(accel);
          disagreements = rows
            .filter((r) => live[r.name] && JSON.stringify(live[r.name]) !== JSON.stringify(r.unavailable))
            .map((r) => ({ name: r.name, kvcpu: r.unavailable, qemu: live[r.name]! }));
        }
        const byName = new Map(catalog.models.map((m) => [m.name, m]));
        // One computation of the level (model-level.ts): the explained final set on this accelerator.
        const levels = new Map(catalog.models.map((m) => [m.name, modelLevel(m.name, supported, catalog)?.level ?? null]));
        const levelOf = (name: string) => levels.get(name) ?? null;
        // `-cpu help` order (QEMU 7.2 x86_cpu_list_compare): by class ordering (base, host, max
        // last), then strcmp of the name.
        const special = ['base', 'host', 'max'];
        rows.sort((a, b) => special.indexOf(a.name) - special.indexOf(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const describe = (name: string): string | null => {
          const m = byName.get(name)!;
          if (m.kind !== 'alias') return m.modelId;
          const target = catalog.aliasResolution.none?.[m.name] ?? m.aliasOf;
          return target?.startsWith(`${m.name}-v`) ? 'alias configured by machine type' : `alias of ${target}`;
        };
        // Counted over every model before --runnable filters the table: the same count as
        // `kvcpu report` (summarizeRunnable), whatever is shown.
        const summary = summarizeRunnable(rows, accel);
        if (opts.runnable) rows = rows.filter((r) => r.runnable);
        const notes = [...supported.notes];
        if (accel === 'tcg') notes.push('TCG: the answer does not depend on this host (TCG emulates a fixed feature set = the `max` model)');
        if (opts.json) {
          writeJson(ctx.io, {
            qemu: { version: catalog.qemu.version, installed, catalog: source },
            accel,
            hostSource: supported.source,
            exact: supported.exact,
            notes,
            summary,
            models: rows.map((r) => ({ ...r, description: describe(r.name), level: levelOf(r.name) })),
            ...(disagreements ? { liveDisagreements: disagreements } : {}),
          });
          return 0;
        }
        const p = paint(ctx.io);
        ctx.io.out(
          `QEMU ${catalog.qemu.version} x86 CPU models (${source === 'live' ? 'probed live' : 'catalog snapshot'}${installed ? `, installed ${installed}` : ', QEMU not installed'}), accelerator ${accel}` +
            `${supported.exact ? '' : ' (estimate)'}\n\n`,
        );
        ctx.io.out(
          renderTable(
            ['MODEL', 'ALIAS-OF', 'VENDOR', 'LEVEL', 'RUNNABLE', 'MISSING'],
            rows.map((r) => [
              r.name,
              r.aliasOf,
              r.vendor === 'GenuineIntel' ? 'Intel' : r.vendor === 'AuthenticAMD' ? 'AMD' : r.vendor === 'HygonGenuine' ? 'Hygon' : r.vendor,
              levelOf(r.name) === null ? null : levelOf(r.name) === 0 ? '32-bit' : `v${levelOf(r.name)}`,
              r.runnable ? { text: 'yes', style: p.green } : { text: 'no', style: p.red },
              r.unavailable.join(' ') || null,
            ]),
          ),
        );
        ctx.io.out(`\n${runnableSentence(summary, false)}${opts.runnable ? '; only the runnable ones are shown' : ''}.\n${summary.definition}.\n`);
        for (const note of notes) ctx.io.out(`note: ${note}\n`);
        if (disagreements) {
          ctx.io.out(disagreements.length ? `\nQEMU disagrees on ${disagreements.length} model(s):\n` : '\nlive QEMU agrees on every model.\n');
          for (const d of disagreements) ctx.io.out(`  ${d.name}: kvcpu [${d.kvcpu.join(' ')}] QEMU [${d.qemu.join(' ')}]\n`);
        }
        return 0;
      }),
    );
};
