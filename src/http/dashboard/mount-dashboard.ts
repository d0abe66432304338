import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Hono } from 'hono';
import { dataPath } from '../../core/package-root.ts';
import { cpuMapCss, cpuMapFromSample, esc, renderCpuMap } from '../../app/cpu-map-html.ts';
import type { AppDeps } from '../create-app.ts';
import { renderSide } from './render-side.ts';

const require = createRequire(import.meta.url);

/** Assets served from memory: our page script and style, and htmx from node_modules (never a CDN). */
function loadAssets(): Map<string, { type: string; body: string }> {
  const own = (f: string) => readFileSync(dataPath('http', f), 'utf8');
  return new Map([
    ['htmx.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8') }],
    ['dashboard.js', { type: 'text/javascript; charset=utf-8', body: own('dashboard.js') }],
    // The map's style sheet lives with the one map renderer (app), which the static report page inlines.
    ['dashboard.css', { type: 'text/css; charset=utf-8', body: cpuMapCss() }],
  ]);
}

function selectedGuest(q: string | undefined): string {
  return (q ?? '').slice(0, 256);
}

/**
 * The dashboard: GET / (the page), /ui/map and /ui/side (HTML fragments htmx swaps in on
 * each SSE `sample` event), /assets/*. Everything renders from the sampler's latest sample.
 */
export function mountDashboard(app: Hono, deps: AppDeps): void {
  const assets = loadAssets();
  const canApply = deps.token !== null;
  app.get('/assets/:file', (c) => {
    const a = assets.get(c.req.param('file'));
    if (!a)
      return c.json({ error: { code: 'E_NOT_FOUND', message: 'no such asset', hint: 'the page loads /assets/dashboard.js, dashboard.css, htmx.min.js' } }, 404);
    return c.body(a.body, 200, { 'Content-Type': a.type, 'Cache-Control': 'max-age=300' });
  });
  app.get('/ui/map', (c) => c.html(renderCpuMap(cpuMapFromSample(deps.sampler.latest()), { selected: selectedGuest(c.req.query('guest')) })));
  app.get('/ui/side', (c) => c.html(renderSide(deps.sampler.latest(), selectedGuest(c.req.query('guest')), canApply)));
  app.get('/', (c) => {
    const s = deps.sampler.latest();
    const guest = selectedGuest(c.req.query('guest'));
    const h = s.host;
    const model = h.cpu.modelNames[0] ?? h.arch;
    return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false}'>
<title>kvcpu — CPU map</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/htmx.min.js" defer></script><script src="/assets/dashboard.js" defer></script></head>
<body>
<header><h1>kvcpu <span class="dim">CPU map of this host</span></h1>
<p class="hostline">${esc(model)} · ${h.perCpu.length} CPUs (${s.online.length} online) · ${h.topology.sockets} socket(s) · ${h.numa.nodes.length} NUMA node(s) · kvcpu ${esc(deps.version)}</p>
<p><span id="live" role="status" aria-live="polite">sample #${s.seq} at ${esc(s.takenAt)}</span>
${canApply ? ' · <label for="token">Token <input id="token" type="password" autocomplete="off" size="24"></label> <label for="apply-config" title="Apply pins libvirt domains through libvirt; this also writes their persistent domain XML (kvcpu pin --config)"><input id="apply-config" type="checkbox"> libvirt: persist (<code>--config</code>)</label>' : ' · <span class="dim">read-only agent</span>'}
<span id="apply-status" role="status" aria-live="polite"></span></p>
<input type="hidden" id="guest-input" name="guest" value="${esc(guest)}"></header>
<main>
<section id="map-section" aria-labelledby="h-map"><h2 id="h-map">CPU map <span class="dim">NUMA node → socket → L3 → core → CPU; chips are guest threads on their last CPU</span></h2>
<div id="map" hx-get="/ui/map" hx-include="#guest-input" hx-trigger="kvcpu-sample from:body" hx-swap="innerHTML">${renderCpuMap(cpuMapFromSample(s), { selected: guest })}</div></section>
<aside id="side" hx-get="/ui/side" hx-include="#guest-input" hx-trigger="kvcpu-sample from:body" hx-swap="innerHTML">${renderSide(s, guest, canApply)}</aside>
</main></body></html>`);
  });
}
