import { isPinned, vcpuThreads, type Sample } from '../../app/sampler.ts';
import { suggestForRunning } from '../../app/plan-request.ts';
import { esc, renderChecksHtml, renderOvercommitHtml } from '../../app/cpu-map-html.ts';

const fmt = (v: number | null, unit: string) => (v === null ? '–' : `${v}${unit}`);

function renderGuest(s: Sample, selected: string): string {
  const g = s.guests.guests.find((x) => x.name === selected);
  if (!g)
    return '<section aria-labelledby="h-guest"><h2 id="h-guest">Guest</h2><p>Select a guest (a chip or a name in the legend) to see its vCPUs and outline its affinity on the map.</p></section>';
  const rows = vcpuThreads(g)
    .map((t) => {
      const r = s.rates.get(`${g.pid}:${t.tid}`);
      const pinned = isPinned(t.affinity, s.online);
      return `<tr data-vcpu="${t.vcpu ?? ''}"><td>${t.vcpu ?? 'all'}</td><td>${t.tid}</td><td>${t.psr ?? '–'}${t.psrStale ? ' (stale)' : ''}</td><td>${esc(t.affinity)}</td><td>${pinned ? 'pinned' : 'floating'}</td><td>${fmt(r?.cpuPct ?? null, '%')}</td><td>${fmt(r?.waitPct ?? null, '%')}</td><td>${fmt(r?.migrationsPerSec ?? null, '')}</td></tr>`;
    })
    .join('');
  return (
    `<section aria-labelledby="h-guest"><h2 id="h-guest">Guest ${esc(g.name)} <span class="dim">pid ${g.pid}, ${g.vcpuCount} vCPU, ${esc(g.config.accel)}${g.libvirt ? ', libvirt' : ''}</span></h2>` +
    `<table class="vcpus"><caption class="sr">vCPUs of ${esc(g.name)}</caption><thead><tr><th scope="col">vCPU</th><th scope="col">TID</th><th scope="col">CPU</th><th scope="col">affinity</th><th scope="col">pin</th><th scope="col">CPU%</th><th scope="col">wait%</th><th scope="col">migr/s</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

function renderSuggestion(s: Sample, canApply: boolean): string {
  let body: string;
  try {
    const sug = suggestForRunning(s.guests, s.host);
    if (!sug) body = '<p>No running guests to plan.</p>';
    else {
      const rows = sug.plan.guests
        .map(
          (g) =>
            `<li><strong>${esc(g.name)}</strong>: ${Object.entries(g.vcpus)
              .map(([v, c]) => `vCPU ${v} → ${esc(c)}`)
              .join(', ')}${g.emulator ? `; emulator → ${esc(g.emulator)}` : ''}</li>`,
        )
        .join('');
      const refused = (sug.plan.placements as { name: string; fits: boolean; failed?: string }[])
        .filter((p) => !p.fits)
        .map((p) => `<li>${esc(p.name)}: does not fit (${esc(p.failed ?? '')})</li>`)
        .join('');
      const plan = { kind: sug.plan.kind, version: sug.plan.version, guests: sug.plan.guests };
      body =
        `<p>Policy: <strong>${sug.policy}</strong>${sug.skipped.length ? ` (not planned: ${esc(sug.skipped.join(', '))})` : ''}</p><ul>${rows}${refused}</ul>` +
        `<script type="application/json" id="plan-json">${JSON.stringify(plan).replace(/</g, '\\u003c')}</script>` +
        (canApply && sug.plan.guests.length
          ? `<p><button type="button" id="apply">Apply this plan</button> <span class="dim">(uses the token entered at the top)</span></p>`
          : '<p class="dim">Read-only agent (started without --token-file): the plan can be applied with <code>kvcpu pin --plan</code>.</p>');
    }
  } catch (e) {
    body = `<p>No suggestion: ${esc((e as Error).message)}</p>`;
  }
  return `<section aria-labelledby="h-plan"><h2 id="h-plan">Planner suggestion</h2>${body}</section>`;
}

/** The side panel: selected guest's vCPUs, overcommit gauge, readiness checks, planner suggestion. */
export function renderSide(s: Sample, selected: string, canApply: boolean): string {
  return renderGuest(s, selected) + renderOvercommitHtml(s.overcommit) + renderSuggestion(s, canApply) + renderChecksHtml(s.checks?.checks ?? null);
}
