import { readFileSync } from 'node:fs';
import { parseCpulist } from '../core/cpulist.ts';
import { dataPath } from '../core/package-root.ts';
import type { Check } from '../check/types.ts';
import type { OvercommitReport } from '../guests/assess-overcommit.ts';
import type { GuestThread } from '../guests/types.ts';
import type { HostSnapshot, PerCpuRow } from '../host/types.ts';
import { sortChecks } from './report-facts.ts';
import type { Report } from './report-schema.ts';
import type { Sample } from './sampler.ts';

/**
 * The CPU map as HTML: one renderer for the agent's live dashboard (`kvcpu serve`, from a
 * sample), the fleet dashboard (a stored report) and the static page of `kvcpu report
 * --format html` (the report being printed). Pure: plain data in, an HTML string out.
 */

/** HTML-escape text and attribute values. */
export function esc(s: string | number | null | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Palette class per guest (CSP forbids inline styles); stable for a name across samples. */
export function colourClass(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `gc${h % 12}`;
}

let css: string | undefined;

/** The map's style sheet (also the dashboard's): served by the agent, inlined by the static page. */
export function cpuMapCss(): string {
  css ??= readFileSync(dataPath('app', 'cpu-map.css'), 'utf8');
  return css;
}

/** The thread fields the map reads (a live GuestThread and the report's guest thread both have them). */
export type CpuMapThread = Pick<GuestThread, 'tid' | 'role' | 'vcpu' | 'iothread' | 'state' | 'psr' | 'psrStale' | 'affinity'>;

export interface CpuMapGuest {
  pid: number;
  name: string;
  /** Running vCPUs (GuestProcess.vcpuCount, the report's `vcpus`). */
  vcpus: number;
  threads: CpuMapThread[];
}

/** What the map draws: the host's CPUs and topology, and the guests' threads on their last CPU. */
export interface CpuMapInput {
  host: Pick<HostSnapshot, 'perCpu' | 'topology'>;
  online: number[];
  isolated: number[];
  guests: CpuMapGuest[];
  /** Sample number (the live page's data-seq), 0 for a report. */
  seq: number;
}

export interface CpuMapOptions {
  /** Guest whose vCPU affinity is outlined ('' = none). */
  selected?: string;
  /** Chips and legend entries as buttons (the live dashboard selects with them); false: plain text (a static page). */
  interactive?: boolean;
}

/** The live sample as the map reads it. */
export function cpuMapFromSample(s: Sample): CpuMapInput {
  return {
    host: s.host,
    online: s.online,
    isolated: s.isolated,
    seq: s.seq,
    guests: s.guests.guests.map((g) => ({ pid: g.pid, name: g.name, vcpus: g.vcpuCount, threads: g.threads })),
  };
}

function cpulistOrEmpty(list: string | null | undefined): number[] {
  try {
    return parseCpulist(list ?? '');
  } catch {
    // a report always parsed once; a bad list just leaves the tiles unmarked
    return [];
  }
}

/**
 * A kvcpu/report/1 document as the map reads it (`kvcpu report --format html`, a fleet host's
 * stored report); null when the report has no host section with per-CPU rows (a host imported
 * from CPU XML or cpuinfo). A report without a guests section draws no chips.
 */
export function cpuMapFromReport(report: Report): CpuMapInput | null {
  const host = report.sections.host?.data;
  if (!host || !Array.isArray(host.perCpu) || !host.cpus) return null;
  const guests = report.sections.guests?.data?.guests ?? [];
  return {
    host,
    online: cpulistOrEmpty(host.cpus.online),
    isolated: cpulistOrEmpty(host.cpus.isolated),
    seq: 0,
    guests: guests.filter((g) => g && Array.isArray(g.threads)).map((g) => ({ pid: g.pid, name: g.name, vcpus: g.vcpus, threads: g.threads })),
  };
}

/** The guest's vCPU threads in vCPU order. */
export function mapVcpuThreads(g: CpuMapGuest): CpuMapThread[] {
  return g.threads.filter((t) => t.role === 'vcpu').sort((a, b) => (a.vcpu ?? -1) - (b.vcpu ?? -1));
}

/** True when the thread may run on fewer CPUs than are online (it has been pinned). */
function pinnedTo(affinity: string, online: number[]): boolean {
  if (!affinity) return false;
  const on = new Set(online);
  return cpulistOrEmpty(affinity).filter((c) => on.has(c)).length < on.size;
}

/** One chip: the threads of one guest with one role on one CPU (emulator helpers are grouped). */
interface Chip {
  guest: CpuMapGuest;
  role: CpuMapThread['role'];
  vcpu: number | null;
  threads: CpuMapThread[];
}

function chipLabel(c: Chip): string {
  if (c.role === 'vcpu') return c.vcpu === null ? `${c.guest.name}/vCPUs (1 thread)` : `${c.guest.name}/vCPU ${c.vcpu}`;
  const n = c.threads.length > 1 ? ` ×${c.threads.length}` : '';
  if (c.role === 'emulator') return `${c.guest.name}/emulator${n}`;
  if (c.role === 'iothread') return `${c.guest.name}/IO ${c.threads[0]!.iothread ?? ''}${n}`;
  return `${c.guest.name}/${c.role}${n}`;
}

function chipsByCpu(m: CpuMapInput): Map<number, Chip[]> {
  const out = new Map<number, Chip[]>();
  for (const g of m.guests) {
    const grouped = new Map<string, Chip>();
    for (const t of g.threads) {
      if (t.psr === null || t.role === 'other') continue;
      const key = t.role === 'vcpu' ? `${t.psr}:v${t.tid}` : `${t.psr}:${t.role}:${t.iothread ?? ''}`;
      let chip = grouped.get(key);
      if (!chip) {
        chip = { guest: g, role: t.role, vcpu: t.vcpu, threads: [] };
        grouped.set(key, chip);
        const list = out.get(t.psr) ?? [];
        list.push(chip);
        out.set(t.psr, list);
      }
      chip.threads.push(t);
    }
  }
  return out;
}

function renderChip(c: Chip, selected: string, interactive: boolean): string {
  const t = c.threads[0]!;
  const label = chipLabel(c);
  const stale = c.threads.every((x) => x.psrStale) ? ' (not run since re-pin)' : '';
  const running = c.threads.some((x) => x.state === 'R');
  const cls = ['chip', colourClass(c.guest.name), `role-${c.role}`, c.guest.name === selected ? 'sel' : '', running ? 'run' : ''].filter(Boolean).join(' ');
  const title = `${label}: tid ${c.threads.map((x) => x.tid).join(',')}, state ${t.state}, affinity ${t.affinity}${stale}`;
  const tag = interactive ? 'button' : 'span';
  return (
    `<${tag}${interactive ? ' type="button"' : ''} class="${cls}" id="chip-${c.guest.pid}-${t.tid}" data-guest="${esc(c.guest.name)}" data-pid="${c.guest.pid}" data-role="${c.role}"` +
    `${c.vcpu === null ? '' : ` data-vcpu="${c.vcpu}"`}${interactive ? ` data-select="${esc(c.guest.name)}"` : ''} title="${esc(title)}">${esc(label)}${running ? ' <span class="st">▶ running</span>' : ''}${stale ? ' <span class="st">stale</span>' : ''}</${tag}>`
  );
}

function cpuStates(r: PerCpuRow, iso: Set<number>): string[] {
  if (!r.online) return ['offline'];
  return ['online', iso.has(r.cpu) ? 'isolated' : 'housekeeping'];
}

function renderTile(r: PerCpuRow, iso: Set<number>, chips: Chip[], aff: Set<number> | null, selected: string, interactive: boolean): string {
  const states = cpuStates(r, iso);
  const runnable = chips.flatMap((c) => c.threads).filter((t) => t.state === 'R').length;
  const contended = runnable > 1;
  const inAff = aff?.has(r.cpu) ?? false;
  const cls = ['cpu', ...states, contended ? 'contended' : '', inAff ? 'aff' : ''].filter(Boolean).join(' ');
  const aria = `CPU ${r.cpu}, ${states.join(', ')}, ${chips.length} guest thread group(s)${contended ? `, contended: ${runnable} runnable threads` : ''}${inAff ? `, in the affinity of ${selected}` : ''}`;
  return (
    `<div class="${cls}" data-cpu="${r.cpu}" data-state="${states.join(' ')}" role="group" aria-label="${esc(aria)}">` +
    `<div class="cpu-head"><span class="cpu-id">CPU ${r.cpu}</span> <span class="cpu-state">${states.join(' · ')}</span>` +
    `${contended ? ` <span class="contention">⚠ ${runnable} runnable</span>` : ''}${inAff ? ' <span class="affmark">◆ affinity</span>' : ''}</div>` +
    `<div class="chips">${chips.map((c) => renderChip(c, selected, interactive)).join('')}</div></div>`
  );
}

type Level = { label: string; cls: string; key: (r: PerCpuRow) => string; title: (k: string, rows: PerCpuRow[]) => string };

/** Group rows level by level (NUMA node → socket → die → L3 → core) into nested boxes. */
function nest(rows: PerCpuRow[], levels: Level[], leaf: (r: PerCpuRow) => string): string {
  if (levels.length === 0) return rows.map(leaf).join('');
  const [lv, ...rest] = levels as [Level, ...Level[]];
  const groups = new Map<string, PerCpuRow[]>();
  for (const r of rows) {
    const k = lv.key(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups]
    .map(
      ([k, rs]) =>
        `<div class="box ${lv.cls}" data-level="${lv.label}" data-key="${esc(k)}" role="group" aria-label="${esc(lv.title(k, rs))}"><div class="box-title">${esc(lv.title(k, rs))}</div><div class="box-body">${nest(rs, rest, leaf)}</div></div>`,
    )
    .join('');
}

/** True when every group of `inner` lies inside one group of `outer` (over these rows). */
function nestsIn(rows: PerCpuRow[], inner: Level, outer: Level): boolean {
  const seen = new Map<string, string>();
  for (const r of rows) {
    const k = inner.key(r);
    const o = outer.key(r);
    if ((seen.get(k) ?? o) !== o) return false;
    seen.set(k, o);
  }
  return true;
}

/**
 * The box order, outermost first. NUMA node → socket → die → L3 is the usual containment, but
 * real machines break it: sub-NUMA clustering and Cluster-on-Die put several nodes in one socket
 * (and one L3 over them), a Xen or KVM guest reports one socket per CPU under a shared L3. A
 * level that is strictly coarser than the one before it moves out past it, so every box holds
 * whole boxes of the next level and an L3 or node is drawn once, not cut up by a finer level.
 */
function orderLevels(rows: PerCpuRow[], levels: Level[]): Level[] {
  const out = [...levels];
  for (let pass = 0; pass < out.length; pass++) {
    for (let i = 1; i < out.length; i++) {
      const [outer, inner] = [out[i - 1]!, out[i]!];
      if (!nestsIn(rows, inner, outer) && nestsIn(rows, outer, inner)) [out[i - 1], out[i]] = [inner, outer];
    }
  }
  return out;
}

/**
 * The CPU map: the host's topology as nested boxes (NUMA node → socket → die when the
 * kernel reports several per socket → L3 domain, in the order they contain each other on this
 * host (orderLevels) → core → SMT thread tiles), each tile
 * carrying one chip per guest thread whose psr is that CPU. `selected` outlines a guest's
 * affinity. Offline CPUs keep their tile (topology unknown: under "offline").
 */
export function renderCpuMap(m: CpuMapInput, opts: CpuMapOptions = {}): string {
  const selected = opts.selected ?? '';
  const interactive = opts.interactive ?? true;
  const chips = chipsByCpu(m);
  const iso = new Set(m.isolated);
  const g = m.guests.find((x) => x.name === selected);
  const aff = g ? new Set(mapVcpuThreads(g).flatMap((t) => cpulistOrEmpty(t.affinity))) : null;
  const showDies = (m.host.topology.dies ?? 0) > m.host.topology.sockets;
  const cpus = (rs: PerCpuRow[]) => rs.map((r) => r.cpu).join(',');
  const levels: Level[] = [
    {
      label: 'node',
      cls: 'numa',
      key: (r) => (r.online ? String(r.node ?? '?') : 'offline'),
      title: (k, rs) => (k === 'offline' ? 'offline CPUs' : `NUMA node ${k} (CPUs ${cpus(rs)})`),
    },
    { label: 'socket', cls: 'socket', key: (r) => String(r.socket ?? '?'), title: (k) => `socket ${k}` },
    // die ids count within a package (topology/die_id): the key names both.
    ...(showDies
      ? [{ label: 'die', cls: 'die', key: (r: PerCpuRow) => `${r.socket ?? '?'}/${r.die ?? '?'}`, title: (k: string) => `die ${k.split('/')[1]}` }]
      : []),
    { label: 'l3', cls: 'l3', key: (r) => r.l3 ?? '?', title: (k) => (k === '?' ? 'L3: unknown' : `L3 shared by CPUs ${k}`) },
  ];
  const core: Level = {
    label: 'core',
    cls: 'core',
    key: (r) => String(r.core ?? `cpu${r.cpu}`),
    title: (k, rs) => `core ${k}${rs.length > 1 ? ` (SMT ${cpus(rs)})` : ''}`,
  };
  const body = nest(
    m.host.perCpu,
    [
      ...orderLevels(
        m.host.perCpu.filter((r) => r.online),
        levels,
      ),
      core,
    ],
    (r) => renderTile(r, iso, chips.get(r.cpu) ?? [], aff, selected, interactive),
  );
  return `<div class="map" data-seq="${m.seq}">${body}</div>${renderLegend(m, selected, interactive)}`;
}

function renderLegend(m: CpuMapInput, selected: string, interactive: boolean): string {
  // The static page says so in its guests section; the live map says it under the map.
  if (m.guests.length === 0) return interactive ? '<p class="legend">No QEMU guests are running.</p>' : '';
  const items = m.guests
    .map((g) => {
      const v = mapVcpuThreads(g);
      const pinned = v.filter((t) => pinnedTo(t.affinity, m.online)).length;
      const sel = g.name === selected;
      const text = `<span class="swatch" aria-hidden="true"></span>${esc(g.name)} <span class="dim">pid ${g.pid}, ${g.vcpus} vCPU, ${pinned ? `${pinned} pinned` : 'floating'}</span>`;
      return interactive
        ? `<li><button type="button" id="sel-${g.pid}" class="guest ${colourClass(g.name)}${sel ? ' sel' : ''}" data-select="${esc(g.name)}" aria-pressed="${sel}">${text}</button></li>`
        : `<li><span class="guest ${colourClass(g.name)}" data-guest="${esc(g.name)}">${text}</span></li>`;
    })
    .join('');
  return `<ul class="legend" aria-label="${interactive ? 'guests (select one to outline its affinity)' : 'guests'}">${items}</ul>`;
}

/** The overcommit section: verdict, vCPU:CPU gauge and the overcommit checks. */
export function renderOvercommitHtml(o: Pick<OvercommitReport, 'verdict' | 'limit' | 'ratio' | 'guestVcpus' | 'hostCpus' | 'checks'>): string {
  const max = Math.max(o.limit * 1.5, o.ratio, 1);
  return (
    `<section aria-labelledby="h-oc"><h2 id="h-oc">Overcommit <span class="verdict v-${o.verdict}">${o.verdict}</span></h2>` +
    `<p><meter id="oc-meter" min="0" max="${max}" low="${o.limit * 0.75}" high="${o.limit}" optimum="0" value="${o.ratio}" aria-label="vCPU to pCPU ratio">${o.ratio}</meter> ` +
    `<span class="oc-text">${o.guestVcpus} vCPUs on ${o.hostCpus} CPUs = ${o.ratio.toFixed(2)} : 1 (limit ${o.limit} : 1)</span></p>` +
    `<ul class="checks">${o.checks.map((c) => `<li><span class="verdict v-${c.status}">${c.status}</span> ${esc(c.message)}</li>`).join('')}</ul></section>`
  );
}

/** Readiness checks, FAIL first, each with its fix when it is not a PASS; null: not run yet. */
export function renderChecksHtml(checks: Pick<Check, 'id' | 'status' | 'summary' | 'fix'>[] | null): string {
  if (!checks) return '<section aria-labelledby="h-checks"><h2 id="h-checks">Readiness checks</h2><p>running…</p></section>';
  const items = sortChecks(checks)
    .map(
      (c) =>
        `<li data-check="${esc(c.id)}"><span class="verdict v-${c.status}">${c.status}</span> <code>${esc(c.id)}</code> ${esc(c.summary)}${c.fix && c.status !== 'PASS' ? `<div class="fix">fix: ${esc(c.fix)}</div>` : ''}</li>`,
    )
    .join('');
  return `<section aria-labelledby="h-checks"><h2 id="h-checks">Readiness checks</h2><ul class="checks">${items}</ul></section>`;
}
