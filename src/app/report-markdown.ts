import { guestRows, hostFacts, reportTitle, skippedSections, sortChecks } from './report-facts.ts';
import type { Report } from './report-schema.ts';

/**
 * Markdown-escape text that comes from the host (guest names, file contents, paths): line breaks
 * and other control characters become spaces (a newline would end a table row or list item),
 * and the characters CommonMark/GFM give a meaning inside a line are backslash-escaped
 * (CommonMark §2.4: any ASCII punctuation may be; `#`, `-`, `+` only matter at a line start,
 * where escaped text never stands), so `|` cannot split a table cell, `<script>` stays text
 * in renderers that pass HTML through, and `*`/`_`/`` ` ``/`[` cannot start emphasis, code or links.
 */
export function mdEscape(s: string | number | null | undefined): string {
  return (
    String(s ?? '')
      // eslint-disable-next-line no-control-regex -- the point: no control character reaches the chat
      .replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g, ' ')
      .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
      .replace(/^ +| +$/g, '')
  );
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}

/**
 * `kvcpu report --format markdown`: the report for a chat or a ticket comment — headings, a
 * host table, the readiness checks as a list (worst first, with fixes), guests and their vCPU
 * placement, overcommit. Same facts as the HTML page (report-facts.ts), from the same object
 * `--json` prints.
 */
export function renderReportMarkdown(report: Report): string {
  const s = report.sections;
  const out: string[] = [];
  out.push(`# ${mdEscape(reportTitle(report))}\n`);
  out.push(`${mdEscape(report.schema)}, taken ${mdEscape(report.generatedAt)} by kvcpu ${mdEscape(report.kvcpuVersion)}, root ${mdEscape(report.root)}\n`);
  const facts = hostFacts(report);
  if (facts.length) {
    out.push(`## Host CPUs\n`);
    out.push(
      table(
        ['', ''],
        facts.map(([k, v]) => [`**${mdEscape(k)}**`, mdEscape(v)]),
      ),
    );
  }
  if (s.checks?.data) {
    const c = s.checks.data.checks;
    const n = (st: string) => c.filter((x) => x.status === st).length;
    out.push(`## Virtualization readiness\n`);
    out.push(`${n('FAIL')} FAIL, ${n('WARN')} WARN, ${n('PASS')} PASS, ${n('SKIP')} SKIP\n`);
    out.push(
      sortChecks(c)
        .map((x) => `- **${x.status}** ${mdEscape(x.id)}: ${mdEscape(x.summary)}${x.fix && x.status !== 'PASS' ? `\n  - fix: ${mdEscape(x.fix)}` : ''}`)
        .join('\n') + '\n',
    );
  }
  if (s.models?.data) {
    const m = s.models.data;
    out.push(`## CPU models\n`);
    out.push(
      `${m.runnable.length} QEMU models run here (${mdEscape(m.accel)}${m.accelExact ? '' : ', estimated from /proc/cpuinfo'}), x86-64 level v${m.hostLevel.level}${m.runnable.length ? `: ${mdEscape(m.runnable.join(', '))}` : ''}\n`,
    );
  }
  if (s.guests?.data) {
    out.push(`## Guests and vCPU placement\n`);
    const rows = guestRows(report);
    out.push(
      rows.length
        ? table(
            ['guest', 'pid', 'vCPUs', 'accel', 'CPU model', 'vCPU → CPU', 'pinning'],
            rows.map((g) => [
              mdEscape(g.name),
              String(g.pid),
              String(g.vcpus),
              mdEscape(g.accel),
              mdEscape(g.cpuModel),
              mdEscape(g.placement),
              mdEscape(g.pinning),
            ]),
          )
        : 'No QEMU guests are running.\n',
    );
  }
  if (s.overcommit?.data) {
    const o = s.overcommit.data;
    out.push(`## Overcommit\n`);
    out.push(`**${o.verdict}** ${o.guestVcpus} vCPUs on ${o.hostCpus} CPUs = ${o.ratio.toFixed(2)} : 1 (limit ${o.limit} : 1)\n`);
    if (o.checks.length) out.push(o.checks.map((c) => `- **${c.status}** ${mdEscape(c.message)}`).join('\n') + '\n');
  }
  const skipped = skippedSections(report);
  if (skipped.length) {
    out.push(`## Skipped\n`);
    out.push(skipped.map((x) => `- ${mdEscape(x.title)}: ${mdEscape(x.why)}`).join('\n') + '\n');
  }
  return out.join('\n');
}
