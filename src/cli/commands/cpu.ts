import { Option, type Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { resolveModel } from '../../cpu-models/catalog.ts';
import { explainCpu } from '../../cpu-models/cpu-string.ts';
import { adviseFeatures } from '../../cpu-models/feature-advice.ts';
import { cpuinfoFlagsToQemu } from '../../cpu-models/feature-names.ts';
import { accelFeatures, defaultAccel, loadLiveCatalog } from '../../cpu-models/live-catalog.ts';
import { readPoolHost } from '../../cpu-models/read-pool-host.ts';
import { modelFeaturesFor } from '../../cpu-models/runnability.ts';
import type { Accel } from '../../cpu-models/types.ts';
import { guestOsSupport, x86Level } from '../../cpu-models/x86-levels.ts';
import { readHost } from '../../host/read-host.ts';
import { addBaselineCommands } from './cpu-baseline.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import type { CliContext } from '../output.ts';
import { paint, renderKeyValues, renderTable, writeJson } from '../output.ts';

const accelOption = () =>
  new Option('--accel <accel>', 'accelerator (default: kvm when /dev/kvm works, else tcg)').choices(['kvm', 'tcg']);

function wrap(words: string[], width = 96, indent = '  '): string {
  if (!words.length) return `${indent}-\n`;
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n') + '\n';
}

/** `kvcpu cpu explain STRING`: resolve a -cpu string as QEMU 7.2 would. */
function addExplain(cpu: Command, ctx: CliContext): void {
  cpu
    .command('explain')
    .description("resolve a QEMU -cpu string (Model[-vN][,+f][,-f][,f=on|off][,check|enforce]) as QEMU does: final features, what this host/accelerator lacks")
    .argument('<cpu...>', "the -cpu value, e.g. 'Haswell-v4,+avx512f,-hle' (a leading -cpu is ignored)")
    .addOption(accelOption())
    .option('--machine <type>', 'machine type for unversioned model names (pc-q35-7.2, pc-i440fx-4.0...)')
    .option('--root <dir>', 'host tree for the KVM estimate', '/')
    .option('--json', 'machine-readable output')
    .allowUnknownOption()
    .action(
      act(ctx, async (words: string[], opts: { accel?: Accel; machine?: string; root: string; json?: boolean }) => {
        const args = words.filter((w) => w !== '-cpu' && w !== '--cpu');
        if (!args.length) throw new KvcpuError('E_USAGE', 'missing -cpu string', { hint: "kvcpu cpu explain 'qemu64,+aes'" });
        const input = args.join(',');
        const accel = opts.accel ?? (await defaultAccel());
        const { catalog } = await loadLiveCatalog();
        const supported = await accelFeatures(accel, { catalog, root: opts.root });
        const ex = explainCpu(input, { supported, catalog, ...(opts.machine ? { machine: opts.machine } : {}) });
        const level = x86Level(ex.final);
        if (opts.json) {
          writeJson(ctx.io, {
            input: ex.input,
            model: { requested: ex.model.requested, resolved: ex.model.resolved, aliasOf: ex.model.aliasOf, machine: ex.model.machine, vendor: ex.model.vendor, notes: ex.model.notes },
            accel,
            mode: ex.mode,
            fails: ex.fails,
            added: ex.added,
            removed: ex.removed,
            requested: ex.requested,
            unavailable: ex.unavailable,
            final: ex.final,
            droppedByDependency: ex.droppedByDependency,
            knobs: ex.knobs,
            level: level.level,
            warnings: ex.warnings,
            hostExact: ex.hostExact,
            hostNotes: ex.hostNotes,
          });
          return ex.fails ? 1 : 0;
        }
        const p = paint(ctx.io);
        ctx.io.out(
          renderKeyValues([
            ['Input', ex.input],
            ['Model', ex.model.resolved === ex.model.requested ? ex.model.resolved : `${ex.model.requested} → ${ex.model.resolved}`],
            ['Vendor', ex.model.vendor],
            ['Accelerator', `${accel}${ex.hostExact ? '' : ' (host features estimated)'}`],
            ['Added', ex.added.join(' ') || '-'],
            ['Removed', ex.removed.join(' ') || '-'],
            ['Unavailable', ex.unavailable.join(' ') || 'none'],
            ['Mode', ex.mode === 'enforce' ? 'enforce: QEMU refuses to start if anything is unavailable' : ex.mode === 'check' ? 'check (default): unavailable features are dropped with a warning' : 'check=off: dropped silently'],
            ['Result', ex.fails ? p.red(ex.mode === 'enforce' && ex.unavailable.length ? 'QEMU would exit (enforce)' : 'QEMU would exit') : ex.unavailable.length ? p.yellow(`starts without ${ex.unavailable.length} feature(s)`) : p.green('starts with every requested feature')],
            ['x86-64 level', level.level ? `${level.name}${level.missingForNext.length ? ` (v${level.level + 1} needs ${level.missingForNext.join(' ')})` : ''}` : '32-bit only'],
          ]),
        );
        for (const n of ex.model.notes) ctx.io.out(`note: ${n}\n`);
        for (const w of ex.warnings) ctx.io.out(`${p.yellow('warning:')} ${w}\n`);
        if (ex.droppedByDependency.length) ctx.io.out(`dropped by dependency: ${ex.droppedByDependency.map((d) => `${d.feature} (needs ${d.parent})`).join(', ')}\n`);
        for (const n of ex.hostNotes) ctx.io.out(`note: ${n}\n`);
        ctx.io.out(`\nGuest features (${ex.final.length}):\n${wrap(ex.final)}`);
        return ex.fails ? 1 : 0;
      }),
    );
}

/** `kvcpu cpu levels [MODEL] [--host]`: x86-64 micro-architecture levels. */
function addLevels(cpu: Command, ctx: CliContext): void {
  cpu
    .command('levels')
    .description('x86-64 micro-architecture level (v1-v4) of every model, one model, or this host, and which guest OSes it boots')
    .argument('[model]', 'a CPU model or -cpu string (default: every model)')
    .option('--host', "this host's level (from /proc/cpuinfo) and what the accelerator gives")
    .addOption(accelOption())
    .option('--root <dir>', 'read the host from a captured tree', '/')
    .option('--json', 'machine-readable output')
    .action(
      act(ctx, async (model: string | undefined, opts: { host?: boolean; accel?: Accel; root: string; json?: boolean }) => {
        const { catalog } = await loadLiveCatalog();
        const accel = opts.accel ?? (await defaultAccel());
        if (opts.host || model) {
          let features: string[];
          let subject: string;
          const extra: Record<string, unknown> = {};
          if (opts.host) {
            const host = readHost({ root: opts.root });
            features = cpuinfoFlagsToQemu(host.cpu.flags, host.cpu.vendor).qemu;
            subject = `host (${host.cpu.modelNames[0] ?? 'unknown CPU'})`;
            const supported = await accelFeatures(accel, { catalog, host, root: opts.root });
            const accelLevel = x86Level(supported.features);
            extra.accel = { accel, level: accelLevel.level, exact: supported.exact, notes: supported.notes };
          } else {
            const supported = await accelFeatures(accel, { catalog, root: opts.root });
            const ex = explainCpu(model!, { supported, catalog });
            features = ex.requested;
            subject = ex.model.resolved === model ? model! : `${model} (${ex.model.resolved})`;
            // What the guest really gets on this accelerator (unavailable features dropped by `check`).
            const onAccel = x86Level(ex.final);
            extra.accel = { accel, level: onAccel.level, exact: supported.exact, notes: supported.notes, unavailable: ex.unavailable };
          }
          const lv = x86Level(features);
          const os = guestOsSupport(lv.level);
          if (opts.json) {
            writeJson(ctx.io, { subject, level: lv.level, name: lv.name, perLevel: lv.perLevel, guestOs: os, ...extra });
            return 0;
          }
          const p = paint(ctx.io);
          ctx.io.out(`${subject}: ${lv.level ? lv.name : 'not x86-64 (32-bit)'}\n\n`);
          ctx.io.out(renderTable(['LEVEL', 'MET', 'MISSING'], lv.perLevel.map((l) => [l.name, l.missing.length ? p.red('no') : p.green('yes'), l.missing.join(' ') || null])));
          if (extra.accel) {
            const a = extra.accel as { accel: string; level: number; exact: boolean };
            ctx.io.out(
              opts.host
                ? `\n${a.accel} can give guests up to x86-64-v${a.level}${a.exact ? '' : ' (estimate)'}\n`
                : `\non ${a.accel} (unavailable features dropped) the guest gets x86-64-v${a.level}${a.exact ? '' : ' (estimate)'}\n`,
            );
          }
          ctx.io.out('\n' + renderTable(['GUEST OS', 'NEEDS', 'BOOTS', 'NOTE'], os.map((o) => [o.os, `v${o.needs}`, o.ok ? p.green('yes') : p.red('no'), o.note])));
          return 0;
        }
        const rows = catalog.models
          .filter((m) => m.kind !== 'alias' && m.name !== 'host')
          .map((m) => ({ name: m.name, level: x86Level(modelFeaturesFor(m, accel)) }));
        if (opts.json) {
          writeJson(ctx.io, { accel, models: rows.map((r) => ({ name: r.name, level: r.level.level, missingForNext: r.level.missingForNext })) });
          return 0;
        }
        rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        ctx.io.out(
          renderTable(
            ['MODEL', 'LEVEL', 'NEXT LEVEL NEEDS'],
            rows.map((r) => [r.name, r.level.level ? `v${r.level.level}` : '32-bit', r.level.missingForNext.join(' ') || null]),
          ),
        );
        return 0;
      }),
    );
}

/** `kvcpu cpu features [--model M] [--pool FILES...]`: SIMD/crypto feature advice. */
function addFeatures(cpu: Command, ctx: CliContext): void {
  cpu
    .command('features')
    .description('AVX/AVX2/AVX-512, XSAVE, AES, SHA, PCLMULQDQ...: what the host has, what a model exposes, the -cpu string that adds the rest (inside a pool)')
    .option('--model <model>', 'guest CPU model (default qemu64, QEMU\'s default)', 'qemu64')
    .option('--pool <files...>', 'other hosts of the migration pool: `kvcpu host --json` files or saved /proc/cpuinfo')
    .addOption(new Option('--accel <accel>', 'limit to what the accelerator can give (tcg: its fixed set; kvm: QEMU host expansion when /dev/kvm works)').choices(['kvm', 'tcg']))
    .option('--root <dir>', 'read this host from a captured tree', '/')
    .option('--json', 'machine-readable output')
    .action(
      act(ctx, async (opts: { model: string; pool?: string[]; accel?: Accel; root: string; json?: boolean }) => {
        const { catalog } = await loadLiveCatalog();
        const resolved = resolveModel(opts.model, undefined, catalog);
        const host = readHost({ root: opts.root });
        let hostFeatures = cpuinfoFlagsToQemu(host.cpu.flags, host.cpu.vendor).qemu;
        if (opts.accel) {
          const sup = await accelFeatures(opts.accel, { catalog, host, root: opts.root });
          hostFeatures = sup.exact ? [...sup.features].sort() : hostFeatures.filter((f) => sup.features.has(f));
        }
        let poolFeatures: string[] | undefined;
        const pool = (opts.pool ?? []).map(readPoolHost);
        if (pool.length) {
          const common = new Set(hostFeatures);
          for (const m of pool) {
            const s = new Set(m.features);
            for (const f of [...common]) if (!s.has(f)) common.delete(f);
          }
          poolFeatures = [...common].sort();
        }
        const advice = adviseFeatures({ model: opts.model, modelFeatures: resolved.features, hostFeatures, ...(poolFeatures ? { poolFeatures } : {}) });
        if (opts.json) {
          writeJson(ctx.io, { ...advice, pool: pool.map((m) => m.file), hostSource: 'cpuinfo' });
          return 0;
        }
        const p = paint(ctx.io);
        const yn = (b: boolean) => (b ? p.green('yes') : p.dim('no'));
        const header = ['FAMILY', 'FEATURE', 'HOST', ...(pool.length ? ['POOL'] : []), opts.model.toUpperCase(), 'ADD'];
        ctx.io.out(
          renderTable(
            header,
            advice.rows.map((r) => [r.family, r.feature, yn(r.host), ...(pool.length ? [yn(r.pool)] : []), yn(r.model), advice.add.includes(r.feature) ? p.cyan('+') : null]),
          ),
        );
        ctx.io.out(`\nSuggested: -cpu ${advice.cpuString}\n`);
        if (!advice.add.length) ctx.io.out(`(${opts.model} already exposes every listed feature the ${pool.length ? 'pool' : 'host'} has)\n`);
        ctx.io.out(`Cost of -cpu host: ${advice.hostCost}\n`);
        ctx.io.out('note: host features come from /proc/cpuinfo (lossy); check the string with `kvcpu cpu explain`\n');
        return 0;
      }),
    );
}

/**
 * `kvcpu cpu ...`: CPU model tools. explain / levels / features live here; compare / baseline /
 * pools come from src/cpu-baseline (addBaselineCommands).
 */
export const registerCpu: RegisterCommand = (program: Command, ctx) => {
  const cpu = program.command('cpu').description('guest CPU models: explain -cpu strings, x86-64 levels, feature advice, compare, baseline');
  addExplain(cpu, ctx);
  addLevels(cpu, ctx);
  addFeatures(cpu, ctx);
  // --- baseline helper's subcommands (compare, baseline, pools) -------------------------------
  addBaselineCommands(cpu, ctx);
  // ---------------------------------------------------------------------------------------------
};
