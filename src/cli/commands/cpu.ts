import { Option, type Command } from 'commander';
import { KvcpuError } from '../../core/errors.ts';
import { resolveModel } from '../../cpu-models/catalog.ts';
import { explainCpu } from '../../cpu-models/cpu-string.ts';
import { adviseFeatures, settleSuggestion } from '../../cpu-models/feature-advice.ts';
import { cpuinfoFlagsToQemu } from '../../cpu-models/feature-names.ts';
import { accelFeatures, defaultAccel, loadLiveCatalog } from '../../cpu-models/live-catalog.ts';
import { readPoolHost } from '../../cpu-models/read-pool-host.ts';
import type { Accel } from '../../cpu-models/types.ts';
import { guestOsSupport, x86Level } from '../../cpu-models/x86-levels.ts';
import { modelLevel } from '../../cpu-models/model-level.ts';
import { readHost } from '../../host/read-host.ts';
import { addBaselineCommands } from './cpu-baseline.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import type { CliContext } from '../output.ts';
import { paint, renderKeyValues, renderTable, writeJson } from '../output.ts';

const accelOption = () => new Option('--accel <accel>', 'accelerator (default: kvm when /dev/kvm works, else tcg)').choices(['kvm', 'tcg']);

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
    .description('resolve a QEMU -cpu string (Model[-vN][,+f][,-f][,f=on|off][,check|enforce]) as QEMU does: final features, what this host/accelerator lacks')
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
            model: {
              requested: ex.model.requested,
              resolved: ex.model.resolved,
              aliasOf: ex.model.aliasOf,
              machine: ex.model.machine,
              vendor: ex.model.vendor,
              notes: ex.model.notes,
            },
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
            [
              'Mode',
              ex.mode === 'enforce'
                ? 'enforce: QEMU refuses to start if anything is unavailable'
                : ex.mode === 'check'
                  ? 'check (default): unavailable features are dropped with a warning'
                  : 'check=off: dropped silently',
            ],
            [
              'Result',
              ex.fails
                ? { text: ex.mode === 'enforce' && ex.unavailable.length ? 'QEMU would exit (enforce)' : 'QEMU would exit', style: p.red }
                : ex.unavailable.length
                  ? { text: `starts without ${ex.unavailable.length} feature(s)`, style: p.yellow }
                  : { text: 'starts with every requested feature', style: p.green },
            ],
            [
              'x86-64 level',
              level.level
                ? `${level.name}${level.missingForNext.length ? ` (v${level.level + 1} needs ${level.missingForNext.join(' ')})` : ''}`
                : '32-bit only',
            ],
          ]),
        );
        for (const n of ex.model.notes) ctx.io.out(`note: ${n}\n`);
        for (const w of ex.warnings) ctx.io.out(`${p.yellow('warning:')} ${w}\n`);
        if (ex.droppedByDependency.length)
          ctx.io.out(`dropped by dependency: ${ex.droppedByDependency.map((d) => `${d.feature} (needs ${d.parent})`).join(', ')}\n`);
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
          // Guest OS support is decided by what the guest gets on the accelerator, computed once
          // through `cpu explain` (max = QEMU's expansion for that accelerator); the host CPU's
          // own level (cpuinfo) or the model definition's level is shown beside it.
          let guestLevel: ReturnType<typeof x86Level>;
          if (opts.host) {
            const host = readHost({ root: opts.root });
            features = cpuinfoFlagsToQemu(host.cpu.flags, host.cpu.vendor).qemu;
            subject = `host (${host.cpu.modelNames[0] ?? 'unknown CPU'})`;
            const supported = await accelFeatures(accel, { catalog, host, root: opts.root });
            const best = accel === 'kvm' ? 'host' : 'max';
            guestLevel = modelLevel(best, supported, catalog) ?? x86Level([]);
            extra.accel = {
              accel,
              level: guestLevel.level,
              model: best,
              exact: supported.exact,
              notes: supported.notes,
              hostCpuLevel: x86Level(features).level,
            };
          } else {
            const supported = await accelFeatures(accel, { catalog, root: opts.root });
            const ex = explainCpu(model!, { supported, catalog });
            features = ex.requested;
            subject = ex.model.resolved === model ? model! : `${model} (${ex.model.resolved})`;
            // What the guest really gets on this accelerator (unavailable features dropped by `check`).
            guestLevel = x86Level(ex.fails ? [] : ex.final);
            extra.accel = {
              accel,
              level: guestLevel.level,
              exact: supported.exact,
              notes: supported.notes,
              unavailable: ex.unavailable,
              definitionLevel: x86Level(features).level,
            };
          }
          const lv = guestLevel;
          const os = guestOsSupport(lv.level);
          if (opts.json) {
            writeJson(ctx.io, { subject, level: lv.level, name: lv.name, perLevel: lv.perLevel, guestOs: os, ...extra });
            return 0;
          }
          const p = paint(ctx.io);
          ctx.io.out(`${subject}: ${lv.level ? lv.name : 'not x86-64 (32-bit)'}\n\n`);
          ctx.io.out(
            renderTable(
              ['LEVEL', 'MET', 'MISSING'],
              lv.perLevel.map((l) => [l.name, l.missing.length ? { text: 'no', style: p.red } : { text: 'yes', style: p.green }, l.missing.join(' ') || null]),
            ),
          );
          if (extra.accel) {
            const a = extra.accel as { accel: string; level: number; exact: boolean };
            ctx.io.out(
              opts.host
                ? `\nhost CPU: x86-64-v${(extra.accel as { hostCpuLevel: number }).hostCpuLevel}; ${a.accel} can give guests up to x86-64-v${a.level}${a.exact ? '' : ' (estimate)'} (the guest OS column uses this)\n`
                : `\non ${a.accel} (unavailable features dropped) the guest gets x86-64-v${a.level}${a.exact ? '' : ' (estimate)'}\n`,
            );
          }
          ctx.io.out(
            '\n' +
              renderTable(
                ['GUEST OS', 'NEEDS', 'BOOTS', 'NOTE'],
                os.map((o) => [o.os, `v${o.needs}`, o.ok ? { text: 'yes', style: p.green } : { text: 'no', style: p.red }, o.note]),
              ),
          );
          return 0;
        }
        const listSupported = await accelFeatures(accel, { catalog, root: opts.root });
        const rows = catalog.models
          .filter((m) => m.kind !== 'alias' && m.name !== 'host')
          .map((m) => ({ name: m.name, level: modelLevel(m.name, listSupported, catalog) ?? x86Level([]) }));
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
    .option('--model <model>', "guest CPU model (default qemu64, QEMU's default)", 'qemu64')
    .option('--pool <files...>', 'other hosts of the migration pool: `kvcpu host --json` files or saved /proc/cpuinfo')
    .addOption(
      new Option(
        '--accel <accel>',
        'the accelerator the guest will use (default: kvm when /dev/kvm works, else tcg); the suggestion starts there with enforce',
      ).choices(['kvm', 'tcg']),
    )
    .option('--root <dir>', 'read this host from a captured tree', '/')
    .option('--json', 'machine-readable output')
    .action(
      act(ctx, async (opts: { model: string; pool?: string[]; accel?: Accel; root: string; json?: boolean }) => {
        const { catalog } = await loadLiveCatalog();
        resolveModel(opts.model, undefined, catalog);
        const host = readHost({ root: opts.root });
        // The accelerator the guest will use (default: KVM when it works here, else TCG): the
        // suggestion must start there, so everything below is computed for it.
        const accel = opts.accel ?? (await defaultAccel());
        const sup = await accelFeatures(accel, { catalog, host, root: opts.root });
        const cpuinfo = cpuinfoFlagsToQemu(host.cpu.flags, host.cpu.vendor).qemu;
        const hostFeatures = sup.exact ? [...sup.features].sort() : cpuinfo.filter((f) => sup.features.has(f));
        const explain = (cpu: string) => explainCpu(cpu, { supported: sup, catalog, hostVendor: host.cpu.vendor });
        const plain = explain(opts.model);
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
        const advice0 = adviseFeatures({ model: opts.model, modelFeatures: plain.final, hostFeatures, ...(poolFeatures ? { poolFeatures } : {}) });
        // Computed through the same `cpu explain`: additions the accelerator cannot give are
        // dropped, model features it lacks are turned off, until `enforce` passes.
        const settled = settleSuggestion(opts.model, advice0.add, (cpu) => explain(cpu));
        const advice = {
          ...advice0,
          add: settled.add,
          cpuString: settled.cpuString,
          accel,
          dropped: settled.dropped,
          disabled: settled.disabled,
          ...(settled.error ? { error: settled.error } : {}),
        };
        if (opts.json) {
          writeJson(ctx.io, { ...advice, pool: pool.map((m) => m.file), hostSource: sup.source });
          return 0;
        }
        const p = paint(ctx.io);
        const yn = (b: boolean) => (b ? { text: 'yes', style: p.green } : { text: 'no', style: p.dim });
        const header = ['FAMILY', 'FEATURE', 'HOST', ...(pool.length ? ['POOL'] : []), opts.model.toUpperCase(), 'ADD'];
        ctx.io.out(
          renderTable(
            header,
            advice.rows.map((r) => [
              r.family,
              r.feature,
              yn(r.host),
              ...(pool.length ? [yn(r.pool)] : []),
              yn(r.model),
              advice.add.includes(r.feature) ? { text: '+', style: p.cyan } : null,
            ]),
          ),
        );
        ctx.io.out(
          advice.cpuString
            ? `\nSuggested for ${accel}: -cpu ${advice.cpuString}\n`
            : `\nNo -cpu ${opts.model} string starts with enforce on ${accel}: ${advice.error ?? ''}\n`,
        );
        if (advice.disabled.length) ctx.io.out(`(${accel} cannot give ${opts.model}'s ${advice.disabled.join(' ')}: turned off so enforce starts)\n`);
        if (advice.dropped.length) ctx.io.out(`(not added, ${accel} cannot give them: ${advice.dropped.join(' ')})\n`);
        if (!advice.add.length) ctx.io.out(`(${opts.model} already exposes every listed feature the ${pool.length ? 'pool' : 'host'} has)\n`);
        ctx.io.out(`Cost of -cpu host: ${advice.hostCost}\n`);
        if (!sup.exact)
          ctx.io.out('note: KVM features estimated from /proc/cpuinfo (lossy); the string was checked with `kvcpu cpu explain` on that estimate\n');
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
