import { readFileSync } from 'node:fs';
import type { Hono } from 'hono';
import { fleetPools, isStale, parseWhere, filterHosts, DEFAULT_STALE_AFTER_MS, type FleetHost, type FleetPools } from '../../app/fleet-query.ts';
import { cpuMapCss, cpuMapFromReport, esc, renderCpuMap } from '../../app/cpu-map-html.ts';
import type { Report } from '../../app/report-schema.ts';
import { isKvcpuError } from '../../core/errors.ts';
import { dataPath } from '../../core/package-root.ts';
import type { FleetAppDeps } from '../fleet-app.ts';

/** Hosts per page of the table: 10,000 hosts are 200 pages, each rendered from the store in milliseconds. */
export const PAGE_SIZE = 50;

/** The features admins ask about first (libvirt names), columns of the feature matrix. */
export const MATRIX_FEATURES = [
  'sse4.2',
  'avx',
  'avx2',
  'fma',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512-vnni',
  'xsave',
  'xsaveopt',
  'aes',
  'pclmuldq',
  'sha-ni',
  'rdrand',
  'pku',
  'vmx',
  'svm',
] as const;

type SortKey = 'name' | 'vendor' | 'model' | 'features' | 'cpus' | 'fails' | 'guests' | 'ratio' | 'seen';

const SORTS: Record<SortKey, (h: FleetHost) => string | number> = {
  name: (h) => h.summary.name,
  vendor: (h) => h.summary.cpu.vendor ?? '',
  model: (h) => h.summary.cpu.decodedModel ?? '',
  features: (h) => h.summary.cpu.featureCount,
  cpus: (h) => h.summary.topology?.onlineCpus ?? -1,
  fails: (h) => h.summary.checks.filter((c) => c.status === 'FAIL').length,
  guests: (h) => h.summary.guests?.count ?? -1,
  ratio: (h) => h.summary.overcommit?.ratio ?? -1,
  seen: (h) => h.lastSeen,
};

const HEAD = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/assets/dashboard.css"><link rel="stylesheet" href="/assets/fleet.css"></head><body>`;

function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

function hostsTable(hosts: FleetHost[], q: { where: string; sort: SortKey; dir: 'asc' | 'desc'; page: number }, staleAfter: number): string {
  const key = SORTS[q.sort];
  const sorted = [...hosts].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const c = x < y ? -1 : x > y ? 1 : a.summary.name < b.summary.name ? -1 : 1;
    return q.dir === 'asc' ? c : -c;
  });
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, q.page), pages);
  const rows = sorted.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const now = new Date();
  const th = (k: SortKey, label: string) => {
    const active = q.sort === k;
    const dir = active && q.dir === 'asc' ? 'desc' : 'asc';
    const mark = active ? (q.dir === 'asc' ? ' ▲' : ' ▼') : '';
    return `<th scope="col" aria-sort="${active ? (q.dir === 'asc' ? 'ascending' : 'descending') : 'none'}"><a href="/${qs({ where: q.where, sort: k, dir })}">${esc(label)}${mark}</a></th>`;
  };
  const body = rows
    .map((h) => {
      const s = h.summary;
      const fails = s.checks.filter((c) => c.status === 'FAIL').length;
      const stale = isStale(h, now, staleAfter);
      return `<tr data-host="${esc(s.name)}"${stale ? ' class="stale"' : ''}><td><a href="/hosts/${encodeURIComponent(s.name)}">${esc(s.name)}</a></td><td>${esc(s.cpu.vendor)}</td><td>${esc(s.cpu.decodedModel ?? '-')}</td><td class="num">${s.cpu.featureCount}</td><td class="num">${s.topology?.onlineCpus ?? '-'}</td><td class="num">${fails ? `<span class="fail">${fails} FAIL</span>` : '0'}</td><td class="num">${s.guests?.count ?? '-'}</td><td class="num">${s.overcommit ? s.overcommit.ratio.toFixed(2) : '-'}</td><td>${esc(h.lastSeen)}${stale ? ' <span class="stale-mark">stale</span>' : ''}</td></tr>`;
    })
    .join('');
  const nav = (p: number, label: string) =>
    p < 1 || p > pages || p === page
      ? `<span class="dim">${label}</span>`
      : `<a href="/${qs({ where: q.where, sort: q.sort, dir: q.dir, page: p })}">${label}</a>`;
  return `<form method="get" action="/" class="filter"><label for="where">Filter <span class="dim">model=Haswell*, vendor=AMD, feature=avx512f, feature=!avx2, check=kvm.usable:FAIL, name=db-*, stale</span></label>
<input id="where" name="where" value="${esc(q.where)}" size="60"><input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.dir}"><button type="submit">Apply</button></form>
<p id="host-count">${hosts.length} host(s) · page ${page} of ${pages} · ${nav(1, 'first')} ${nav(page - 1, 'previous')} ${nav(page + 1, 'next')} ${nav(pages, 'last')}</p>
<table id="hosts"><caption class="dim">Stored hosts (latest report of each)</caption><thead><tr>${th('name', 'Host')}${th('vendor', 'Vendor')}${th('model', 'CPU model')}${th('features', 'Features')}${th('cpus', 'CPUs')}${th('fails', 'Checks')}${th('guests', 'Guests')}${th('ratio', 'vCPU:CPU')}${th('seen', 'Last seen')}</tr></thead><tbody>${body}</tbody></table>`;
}

function poolsSection(p: FleetPools | null, why: string | null): string {
  if (!p) return `<p class="dim">${esc(why ?? 'no pools')}</p>`;
  return (
    `<p>${p.hosts} host(s) in ${p.chosen} pool(s): ${esc(p.rule)}</p>` +
    p.pools
      .map(
        (pl, i) =>
          `<div class="pool" data-pool="${i + 1}"><h3>Pool ${i + 1}: ${esc(pl.baseline.model)} <span class="dim">${esc(pl.vendor)} · ${pl.hostCount} host(s) · ${esc(pl.level ?? '32-bit')} · ${pl.features} features</span></h3>
<p><code>-cpu ${esc(pl.rendered.qemu)}</code></p>${
            pl.heldBackBy.length
              ? `<ul>${pl.heldBackBy
                  .map(
                    (h) =>
                      `<li class="holdback">Held back by <strong>${esc(h.hosts.join(', '))}${h.hostCount > h.hosts.length ? ` (+${h.hostCount - h.hosts.length})` : ''}</strong>: lacks ${esc(h.lacks.slice(0, 10).join(' '))}${h.lacks.length > 10 ? ' …' : ''}; without ${h.hostCount === 1 ? 'it' : 'them'} the pool gets <strong>${esc(h.modelWithout)}</strong> (+${h.gain} features)</li>`,
                  )
                  .join('')}</ul>`
              : '<p class="dim">No host holds this pool back (every host has the same CPU features).</p>'
          }</div>`,
      )
      .join('')
  );
}

/** Hosts × features, one row per distinct CPU (10,000 hosts are a dozen CPUs). */
function featureMatrix(hosts: FleetHost[]): string {
  const groups = new Map<string, FleetHost[]>();
  for (const h of hosts) groups.set(h.cpuDigest, [...(groups.get(h.cpuDigest) ?? []), h]);
  const rows = [...groups.values()]
    .sort((a, b) => b.length - a.length)
    .map((g) => {
      const f = new Set(g[0]!.cpu.allFeatures);
      const names =
        g
          .slice(0, 3)
          .map((h) => h.summary.name)
          .join(', ') + (g.length > 3 ? ` (+${g.length - 3})` : '');
      return `<tr><th scope="row">${esc(g[0]!.summary.cpu.decodedModel ?? '?')} <span class="dim">${esc(names)}</span></th><td class="num">${g.length}</td>${MATRIX_FEATURES.map((m) => (f.has(m) ? '<td class="yes">✔ yes</td>' : '<td class="no">✘ no</td>')).join('')}</tr>`;
    })
    .join('');
  return `<table id="matrix"><caption class="dim">One row per distinct CPU</caption><thead><tr><th scope="col">CPU (hosts)</th><th scope="col">Hosts</th>${MATRIX_FEATURES.map((m) => `<th scope="col">${esc(m)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The fleet dashboard: GET / (hosts table: sortable, filterable, paginated; pools with the
 * hosts that hold them back; the feature matrix; stale hosts) and GET /hosts/NAME (one host:
 * its summary and, when it pushed a report, its CPU map — the host agent's own component).
 */
export function mountFleetDashboard(app: Hono, deps: FleetAppDeps, allHosts: () => Promise<FleetHost[]>): void {
  const css = cpuMapCss();
  const fleetCss = readFileSync(dataPath('http', 'fleet.css'), 'utf8');
  const staleAfter = deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  app.get('/assets/dashboard.css', (c) => c.body(css, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }));
  app.get('/assets/fleet.css', (c) => c.body(fleetCss, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }));
  app.get('/', async (c) => {
    const where = (c.req.query('where') ?? '').slice(0, 500);
    const sortQ = c.req.query('sort') ?? 'name';
    const sort = (Object.hasOwn(SORTS, sortQ) ? sortQ : 'name') as SortKey;
    const dir = c.req.query('dir') === 'desc' ? 'desc' : 'asc';
    const page = Number(c.req.query('page') ?? '1') || 1;
    const all = await allHosts();
    let hosts = all;
    let filterError = '';
    try {
      hosts = filterHosts(all, parseWhere(where), { staleAfterMs: staleAfter });
    } catch (e) {
      if (!isKvcpuError(e)) throw e;
      filterError = `<p class="fail" role="alert">${esc((e as Error).message)}</p>`;
    }
    let pools: FleetPools | null = null;
    let why: string | null = null;
    try {
      pools = hosts.length ? fleetPools(deps.x, hosts, { hostLimit: 0 }) : null;
      if (!pools) why = 'No hosts stored yet: push reports (`kvcpu serve --fleet URL`) or `kvcpu fleet import`.';
    } catch (e) {
      if (!isKvcpuError(e)) throw e;
      why = (e as Error).message;
    }
    const now = new Date();
    const stale = all.filter((h) => isStale(h, now, staleAfter));
    return c.html(`${HEAD('kvcpu — fleet')}
<header><h1>kvcpu <span class="dim">fleet of ${all.length} host(s) · ${esc(deps.store.backend)} store · kvcpu ${esc(deps.version)}</span></h1></header>
<main class="fleet">
<section aria-labelledby="h-hosts"><h2 id="h-hosts">Hosts</h2>${filterError}${hostsTable(hosts, { where, sort, dir, page }, staleAfter)}</section>
<section aria-labelledby="h-pools" id="pools"><h2 id="h-pools">Migration pools</h2>${poolsSection(pools, why)}</section>
<section aria-labelledby="h-matrix"><h2 id="h-matrix">CPU features</h2>${featureMatrix(hosts)}</section>
<section aria-labelledby="h-stale" id="stale"><h2 id="h-stale">Stale hosts <span class="dim">(no report for ${Math.round(staleAfter / 3_600_000)} h)</span></h2>${
      stale.length
        ? `<ul>${stale
            .slice(0, 200)
            .map(
              (h) =>
                `<li><a href="/hosts/${encodeURIComponent(h.summary.name)}">${esc(h.summary.name)}</a> <span class="dim">last seen ${esc(h.lastSeen)}</span></li>`,
            )
            .join('')}</ul>`
        : '<p>None.</p>'
    }</section>
</main></body></html>`);
  });
  app.get('/hosts/:name', async (c) => {
    const name = c.req.param('name');
    const h = (await allHosts()).find((x) => x.summary.name === name);
    if (!h)
      return c.html(
        `${HEAD('kvcpu — unknown host')}<main><p class="fail" role="alert">No host ${esc(name)} in the store.</p><p><a href="/">All hosts</a></p></main></body></html>`,
        404,
      );
    const s = h.summary;
    const stored = (await deps.store.latestReport(name)) as Report | null;
    const map = stored?.sections ? cpuMapFromReport(stored) : null;
    const checks = s.checks.length
      ? `<table><thead><tr><th scope="col">Check</th><th scope="col">Status</th></tr></thead><tbody>${s.checks.map((k) => `<tr><td>${esc(k.id)}</td><td class="st-${esc(k.status)}">${esc(k.status)}</td></tr>`).join('')}</tbody></table>`
      : '<p class="dim">No readiness checks in the stored input.</p>';
    return c.html(`${HEAD(`kvcpu — ${name}`)}
<header><h1>${esc(name)} <span class="dim">${esc(s.cpu.vendor)} ${esc(s.cpu.modelName ?? '')} · libvirt model ${esc(s.cpu.decodedModel ?? '-')} · ${s.cpu.featureCount} features · last seen ${esc(h.lastSeen)} · ${h.reports} report(s)</span></h1><p><a href="/">← all hosts</a></p></header>
<main>
<section aria-labelledby="h-map"><h2 id="h-map">CPU map <span class="dim">as of its latest report</span></h2>${map ? `<div id="map">${renderCpuMap(map, { interactive: false })}</div>` : '<p class="dim">This host was imported from CPU XML or cpuinfo: no topology or guests to draw.</p>'}</section>
<aside><h2>Readiness</h2>${checks}<h2>CPU features</h2><p class="features">${esc(h.cpu.allFeatures.join(' '))}</p></aside>
</main></body></html>`);
  });
}
