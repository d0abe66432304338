import { Option } from 'commander';
import { buildReport, reportSections, type BuiltReport } from '../../app/report.ts';
import { escapeJsonControls } from '../../core/errors.ts';
import { act, type RegisterCommand } from '../command-kit.ts';
import { paint, type CliIo } from '../output.ts';
import { writeOutputFile } from '../write-output-file.ts';

export const REPORT_FORMATS = ['text', 'json', 'html', 'markdown'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

function renderText(io: Pick<CliIo, 'color'>, built: BuiltReport): string {
  const { report, sections } = built;
  const p = paint(io);
  let out = p.bold(`kvcpu report — ${report.root === '/' ? 'this host' : report.root} — ${report.generatedAt}`) + '\n';
  for (const s of sections) {
    const badge = s.status === 'findings' ? p.red(' [findings]') : s.status === 'skipped' ? p.dim(' [skipped]') : '';
    out += `\n${p.bold(p.cyan(`== ${s.title} ==`))}${badge}\n${s.text.endsWith('\n') ? s.text : s.text + '\n'}`;
  }
  return out;
}

/** The report in the asked-for form; html and markdown render the same kvcpu/report/1 object `--json` prints. */
async function renderAs(format: ReportFormat, io: Pick<CliIo, 'color'>, built: BuiltReport): Promise<string> {
  if (format === 'json') return escapeJsonControls(JSON.stringify(built.report, null, 2)) + '\n';
  // Loaded by the format that needs it: `kvcpu report` alone does not pay for them.
  if (format === 'html') return (await import('../../app/report-html.ts')).renderReportHtml(built.report);
  if (format === 'markdown') return (await import('../../app/report-markdown.ts')).renderReportMarkdown(built.report);
  return renderText(io, built);
}

export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('report')
    .description('everything kvcpu knows about this host: CPUs, readiness checks, CPU models, guests, placement, overcommit')
    .option('--root <dir>', 'read /proc and /sys under DIR (a `kvcpu capture` tree); live-only probes are skipped', '/')
    .option('--only <ids>', `comma-separated sections (${reportSections.map((s) => s.id).join(',')})`)
    .addOption(
      new Option(
        '--format <format>',
        'text (terminal), json (kvcpu/report/1), html (one self-contained page: CPU map, checks, guests; no script or external asset), markdown (for chat and tickets)',
      )
        .choices(REPORT_FORMATS)
        .default('text'),
    )
    .option('--output <file>', 'write the report to FILE (replaced whole, never half-written) instead of stdout')
    .option(
      '--json',
      'same as --format json: the kvcpu/report/1 document (docs/report.schema.json): {schema, kvcpuVersion, generatedAt, root, host, sections:{<id>:{title,status,data}}}',
    )
    .action(
      act(ctx, async (opts: { root: string; only?: string; format: ReportFormat; output?: string; json?: boolean }) => {
        const format: ReportFormat = opts.json ? 'json' : opts.format;
        // A file gets no terminal colours, whatever stdout is.
        const color = opts.output === undefined && ctx.io.color;
        const built = await buildReport({
          root: opts.root,
          ...(opts.only !== undefined ? { only: opts.only.split(',') } : {}),
          color,
          kvcpuVersion: '0.1.0',
        });
        const text = await renderAs(format, { color }, built);
        if (opts.output !== undefined) writeOutputFile(opts.output, text);
        else ctx.io.out(text);
        return built.findings ? 1 : 0;
      }),
    );
};
