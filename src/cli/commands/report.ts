import { buildReport, reportSections } from '../../app/report.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { paint, writeJson } from '../output.ts';

export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('report')
    .description('everything kvcpu knows about this host: CPUs, readiness checks, CPU models, guests, placement, overcommit')
    .option('--root <dir>', 'read /proc and /sys under DIR (a `kvcpu capture` tree); live-only probes are skipped', '/')
    .option('--only <ids>', `comma-separated sections (${reportSections.map((s) => s.id).join(',')})`)
    .option('--json', 'print the kvcpu/report/1 document (docs/report.schema.json): {schema, kvcpuVersion, generatedAt, root, host, sections:{<id>:{title,status,data}}}')
    .action(
      act(ctx, async (opts: { root: string; only?: string; json?: boolean }) => {
        const { report, sections, findings } = await buildReport({
          root: opts.root,
          ...(opts.only !== undefined ? { only: opts.only.split(',') } : {}),
          color: ctx.io.color,
          kvcpuVersion: '0.1.0',
        });
        if (opts.json) {
          writeJson(ctx.io, report);
        } else {
          const p = paint(ctx.io);
          ctx.io.out(p.bold(`kvcpu report — ${report.root === '/' ? 'this host' : report.root} — ${report.generatedAt}`) + '\n');
          for (const s of sections) {
            const badge = s.status === 'findings' ? p.red(' [findings]') : s.status === 'skipped' ? p.dim(' [skipped]') : '';
            ctx.io.out(`\n${p.bold(p.cyan(`== ${s.title} ==`))}${badge}\n${s.text.endsWith('\n') ? s.text : s.text + '\n'}`);
          }
        }
        return findings ? 1 : 0;
      }),
    );
};
