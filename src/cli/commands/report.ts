import { existsSync } from 'node:fs';
import { didYouMean } from '../../core/suggest-names.ts';
import { join, resolve } from 'node:path';
import { KvcpuError } from '../../core/errors.ts';
import { collectCheckSection } from '../../check/report-section.ts';
import { collectGuestsSection, collectOvercommitSection } from '../../guests/report-section.ts';
import { collectHostSection } from '../../host/report-section.ts';
import { collectModelsSection } from '../../cpu-models/report-section.ts';
import { collectReport, type SectionCollector } from '../../report/collect-report.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { paint, writeJson } from '../output.ts';

/** Report sections in the order they print; each capability contributes one or more. */
export const reportSections: { id: string; title: string; collect: SectionCollector }[] = [
  { id: 'host', title: 'Host CPUs', collect: collectHostSection },
  { id: 'checks', title: 'Virtualization readiness', collect: collectCheckSection },
  { id: 'models', title: 'CPU models', collect: collectModelsSection },
  { id: 'guests', title: 'Guests and vCPU placement', collect: collectGuestsSection },
  { id: 'overcommit', title: 'Overcommit', collect: collectOvercommitSection },
];

export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('report')
    .description('everything kvcpu knows about this host: CPUs, readiness checks, CPU models, guests, placement, overcommit')
    .option('--root <dir>', 'read /proc and /sys under DIR (a `kvcpu capture` tree); live-only probes are skipped', '/')
    .option('--only <ids>', `comma-separated sections (${reportSections.map((s) => s.id).join(',')})`)
    .option('--json', 'print JSON: {kvcpuVersion, generatedAt, root, sections:{<id>:{title,status,data}}}')
    .action(
      act(ctx, async (opts: { root: string; only?: string; json?: boolean }) => {
        const root = resolve(opts.root);
        const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = only?.filter((id) => !reportSections.some((s) => s.id === id)) ?? [];
        if (unknown.length) {
          throw new KvcpuError('E_USAGE', `unknown report section(s): ${unknown.join(', ')}`, {
            hint: `${(didYouMean(unknown[0]!, reportSections.map((s) => s.id)) ?? '') + ' '}sections: ${reportSections.map((s) => s.id).join(', ')}`.trim(),
          });
        }
        // A root with neither /proc/cpuinfo nor /sys/devices/system/cpu is a wrong path, not a host
        // whose every section is "skipped": refuse it like `kvcpu host` does.
        if (!existsSync(join(root, 'proc/cpuinfo')) && !existsSync(join(root, 'sys/devices/system/cpu'))) {
          throw new KvcpuError('E_SYSFS_MISSING', `${root} has neither proc/cpuinfo nor sys/devices/system/cpu`, {
            hint: 'pass --root a directory made by `kvcpu capture DIR`, or omit --root for this host',
          });
        }
        const chosen = only ? reportSections.filter((s) => only.includes(s.id)) : reportSections;
        const report = await collectReport(chosen, { root, live: root === '/', color: ctx.io.color }, '0.1.0');
        if (opts.json) {
          writeJson(ctx.io, {
            kvcpuVersion: report.kvcpuVersion,
            generatedAt: report.generatedAt,
            root: report.root,
            sections: Object.fromEntries(report.sections.map((s) => [s.id, { title: s.title, status: s.status, data: s.data }])),
          });
        } else {
          const p = paint(ctx.io);
          ctx.io.out(p.bold(`kvcpu report — ${root === '/' ? 'this host' : root} — ${report.generatedAt}`) + '\n');
          for (const s of report.sections) {
            const badge = s.status === 'findings' ? p.red(' [findings]') : s.status === 'skipped' ? p.dim(' [skipped]') : '';
            ctx.io.out(`\n${p.bold(p.cyan(`== ${s.title} ==`))}${badge}\n${s.text.endsWith('\n') ? s.text : s.text + '\n'}`);
          }
        }
        return report.sections.some((s) => s.status === 'findings') ? 1 : 0;
      }),
    );
};
