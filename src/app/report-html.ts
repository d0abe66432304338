import { cpuMapCss, cpuMapFromReport, esc, renderChecksHtml, renderCpuMap, renderOvercommitHtml } from './cpu-map-html.ts';
import { guestRows, hostFacts, reportTitle, skippedSections } from './report-facts.ts';
import type { Report } from './report-schema.ts';

// Only the inlined style sheet: no script, no fetch, no font or image, so the page is the same
// from file://, a ticket attachment or a mail client, and shows nothing it did not carry.
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STATIC_CSS = `
.static main { grid-template-columns: minmax(0, 3fr) minmax(20rem, 2fr); }
table.facts { border-collapse: collapse; font-size: .85rem; }
table.facts th { text-align: left; font-weight: 600; padding: .1rem .6rem .1rem 0; vertical-align: top; }
table.facts td { padding: .1rem 0; }
.skipped { color: var(--dim); }
@media print { .static main { display: block; } .cpu { break-inside: avoid; } }
`;

/**
 * `kvcpu report --format html`: one self-contained page an admin can attach to a ticket — the
 * agent's CPU map drawn once from the report (same renderer as `kvcpu serve`), host summary,
 * guests and their vCPU placement, overcommit, readiness checks with fixes. Style inlined, no
 * script, no external URL (a CSP forbids any); every verdict is a text label, so it reads the
 * same without colour.
 */
export function renderReportHtml(report: Report): string {
  const title = reportTitle(report);
  const s = report.sections;
  const map = cpuMapFromReport(report);
  const facts = hostFacts(report);
  const host = facts.length
    ? `<section aria-labelledby="h-host"><h2 id="h-host">Host CPUs</h2><table class="facts">${facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table></section>`
    : '';
  const guests = s.guests?.data
    ? `<section aria-labelledby="h-guests"><h2 id="h-guests">Guests and vCPU placement</h2>${
        s.guests.data.guests.length === 0
          ? '<p>No QEMU guests are running.</p>'
          : `<table class="vcpus" id="guests"><thead><tr><th scope="col">guest</th><th scope="col">pid</th><th scope="col">vCPUs</th><th scope="col">accel</th><th scope="col">CPU model</th><th scope="col">vCPU → CPU</th><th scope="col">pinning</th></tr></thead><tbody>${guestRows(
              report,
            )
              .map(
                (g) =>
                  `<tr data-guest="${esc(g.name)}"><td>${esc(g.name)}</td><td>${g.pid}</td><td>${g.vcpus}</td><td>${esc(g.accel)}</td><td>${esc(g.cpuModel)}</td><td>${esc(g.placement)}</td><td>${esc(g.pinning)}</td></tr>`,
              )
              .join('')}</tbody></table>`
      }</section>`
    : '';
  const models = s.models?.data
    ? `<section aria-labelledby="h-models"><h2 id="h-models">CPU models</h2><p>${s.models.data.runnable.length} QEMU models run here (${esc(s.models.data.accel)}${s.models.data.accelExact ? '' : ', estimated from /proc/cpuinfo'}), x86-64 level v${s.models.data.hostLevel.level}${
        s.models.data.runnable.length ? `: ${esc(s.models.data.runnable.join(', '))}` : ''
      }</p></section>`
    : '';
  const skipped = skippedSections(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="kvcpu ${esc(report.kvcpuVersion)}">
<title>${esc(title)}</title><link rel="icon" href="data:,">
<style>${cpuMapCss()}${STATIC_CSS}</style></head>
<body class="static">
<header><h1>${esc(title)}</h1>
<p class="hostline">${esc(`${report.schema} · taken ${report.generatedAt} · kvcpu ${report.kvcpuVersion} · root ${report.root}${report.host.machineId ? ` · machine-id ${report.host.machineId}` : ''}`)}</p></header>
<main>
<div>
<section id="map-section" aria-labelledby="h-map"><h2 id="h-map">CPU map <span class="dim">NUMA node → socket → L3 → core → CPU; chips are guest threads on their last CPU</span></h2>
${map ? `<div id="map">${renderCpuMap(map, { interactive: false })}</div>` : '<p class="skipped">No host section in this report: no CPU map.</p>'}</section>
${guests}
</div>
<aside id="side">
${host}
${s.overcommit?.data ? renderOvercommitHtml(s.overcommit.data) : ''}
${s.checks?.data ? renderChecksHtml(s.checks.data.checks) : ''}
${models}
${skipped.length ? `<section aria-labelledby="h-skipped"><h2 id="h-skipped">Skipped</h2><ul>${skipped.map((x) => `<li class="skipped">${esc(x.title)}: ${esc(x.why)}</li>`).join('')}</ul></section>` : ''}
</aside>
</main></body></html>
`;
}
