import { parseCpulist } from '../../core/cpulist.ts';
import type { GuestProcess, GuestThread } from '../../guests/types.ts';
import type { PerCpuRow } from '../../host/types.ts';
import { isPinned, vcpuThreads, type Sample } from '../../app/sampler.ts';

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

/** One chip: the threads of one guest with one role on one CPU (emulator helpers are grouped). */
interface Chip {
  guest: GuestProcess;
  role: GuestThread['role'];
  vcpu: number | null;
  threads: GuestThread[];
}

function chipLabel(c: Chip): string {
  if (c.role === 'vcpu') return c.vcpu === null ? `${c.guest.name}/vCPUs (1 thread)` : `${c.guest.name}/vCPU ${c.vcpu}`;
  const n = c.threads.length > 1 ? ` ×${c.threads.length}` : '';
  if (c.role === 'emulator') return `${c.guest.name}/emulator${n}`;
  if (c.role === 'iothread') return `${c.guest.name}/IO ${c.threads[0]!.iothread ?? ''}${n}`;
  return `${c.guest.name}/${c.role}${n}`;
}

function chipsByCpu(s: Sample): Map<number, Chip[]> {
  const m = new Map<number, Chip[]>();
  for (const g of s.guests.guests) {
    const grouped = new Map<string, Chip>();
    for (const t of g.threads) {
      if (t.psr === null || t.role === 'other') continue;
      const key = t.role === 'vcpu' ? `${t.psr}:v${t.tid}` : `${t.psr}:${t.role}:${t.iothread ?? ''}`;
      let chip = grouped.get(key);
      if (!chip) {
        chip = { guest: g, role: t.role, vcpu: t.vcpu, threads: [] };
        grouped.set(key, chip);
        const list = m.get(t.psr) ?? [];
        list.push(chip);
        m.set(t.psr, list);
      }
      chip.threads.push(t);
    }
  }
  return m;
}

function renderChip(c: Chip, selected: string): string {
  const t = c.threads[0]!;
  const label = chipLabel(c);
  const stale = c.threads.every((x) => x.psrStale) ? ' (not run since re-pin)' : '';
  const running = c.threads.some((x) => x.state === 'R');
  const cls = ['chip', colourClass(c.guest.name), `role-${c.role}`, c.guest.name === selected ? 'sel' : '', running ? 'run' : ''].filter(Boolean).join(' ');
  const title = `${label}: tid ${c.threads.map((x) => x.tid).join(',')}, state ${t.state}, affinity ${t.affinity}${stale}`;
  return (
    `<button type="button" class="${cls}" id="chip-${c.guest.pid}-${t.tid}" data-guest="${esc(c.guest.name)}" data-pid="${c.guest.pid}" data-role="${c.role}"` +
    `${c.vcpu === null ? '' : ` data-vcpu="${c.vcpu}"`} data-select="${esc(c.guest.name)}" title="${esc(title)}">${esc(label)}${running ? ' <span class="st">▶ running</span>' : ''}${stale ? ' <span class="st">stale</span>' : ''}</button>`
  );
}

function cpuStates(r: PerCpuRow, iso: Set<number>): string[] {
  if (!r.online) return ['offline'];
  return ['online', iso.has(r.cpu) ? 'isolated' : 'housekeeping'];
}

function renderTile(r: PerCpuRow, s: Sample, chips: Chip[], aff: Set<number> | null, selected: string): string {
  const states = cpuStates(r, new Set(s.isolated));
  const runnable = chips.flatMap((c) => c.threads).filter((t) => t.state === 'R').length;
  const contended = runnable > 1;
  const inAff = aff?.has(r.cpu) ?? false;
  const cls = ['cpu', ...states, contended ? 'contended' : '', inAff ? 'aff' : ''].filter(Boolean).join(' ');
  const aria = `CPU ${r.cpu}, ${states.join(', ')}, ${chips.length} guest thread group(s)${contended ? `, contended: ${runnable} runnable threads` : ''}${inAff ? `, in the affinity of ${selected}` : ''}`;
  return (
    `<div class="${cls}" data-cpu="${r.cpu}" data-state="${states.join(' ')}" role="group" aria-label="${esc(aria)}">` +
    `<div class="cpu-head"><span class="cpu-id">CPU ${r.cpu}</span> <span class="cpu-state">${states.join(' · ')}</span>` +
    `${contended ? ` <span class="contention">⚠ ${runnable} runnable</span>` : ''}${inAff ? ' <span class="affmark">◆ affinity</span>' : ''}</div>` +
    `<div class="chips">${chips.map((c) => renderChip(c, selected)).join('')}</div></div>`
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
    .map(([k, rs]) => `<div class="box ${lv.cls}" role="group" aria-label="${esc(lv.title(k, rs))}"><div class="box-title">${esc(lv.title(k, rs))}</div><div class="box-body">${nest(rs, rest, leaf)}</div></div>`)
    .join('');
}

/**
 * The CPU map: the host's topology as nested boxes (NUMA node → socket → die when the
 * kernel reports several per socket → L3 domain → core → SMT thread tiles), each tile
 * carrying one chip per guest thread whose psr is that CPU. `selected` outlines a guest's
 * affinity. Offline CPUs keep their tile (topology unknown: under "offline").
 */
export function renderMap(s: Sample, selected: string): string {
  const chips = chipsByCpu(s);
  const g = s.guests.guests.find((x) => x.name === selected);
  const aff = g ? new Set(vcpuThreads(g).flatMap((t) => (t.affinity ? parseCpulist(t.affinity) : []))) : null;
  const showDies = (s.host.topology.dies ?? 0) > s.host.topology.sockets;
  const cpus = (rs: PerCpuRow[]) => rs.map((r) => r.cpu).join(',');
  const levels: Level[] = [
    { label: 'node', cls: 'numa', key: (r) => (r.online ? String(r.node ?? '?') : 'offline'), title: (k, rs) => (k === 'offline' ? 'offline CPUs' : `NUMA node ${k} (CPUs ${cpus(rs)})`) },
    { label: 'socket', cls: 'socket', key: (r) => String(r.socket ?? '?'), title: (k) => `socket ${k}` },
    ...(showDies ? [{ label: 'die', cls: 'die', key: (r: PerCpuRow) => String(r.die ?? '?'), title: (k: string) => `die ${k}` }] : []),
    { label: 'l3', cls: 'l3', key: (r) => r.l3 ?? '?', title: (k) => (k === '?' ? 'L3: unknown' : `L3 shared by CPUs ${k}`) },
    { label: 'core', cls: 'core', key: (r) => String(r.core ?? `cpu${r.cpu}`), title: (k, rs) => `core ${k}${rs.length > 1 ? ` (SMT ${cpus(rs)})` : ''}` },
  ];
  const body = nest(s.host.perCpu, levels, (r) => renderTile(r, s, chips.get(r.cpu) ?? [], aff, selected));
  return `<div class="map" data-seq="${s.seq}">${body}</div>${renderLegend(s, selected)}`;
}

function renderLegend(s: Sample, selected: string): string {
  if (s.guests.guests.length === 0) return '<p class="legend">No QEMU guests are running.</p>';
  const items = s.guests.guests
    .map((g) => {
      const v = vcpuThreads(g);
      const pinned = v.filter((t) => isPinned(t.affinity, s.online)).length;
      const sel = g.name === selected;
      return (
        `<li><button type="button" id="sel-${g.pid}" class="guest ${colourClass(g.name)}${sel ? ' sel' : ''}" data-select="${esc(g.name)}" aria-pressed="${sel}">` +
        `<span class="swatch" aria-hidden="true"></span>${esc(g.name)} <span class="dim">pid ${g.pid}, ${g.vcpuCount} vCPU, ${pinned ? `${pinned} pinned` : 'floating'}</span></button></li>`
      );
    })
    .join('');
  return `<ul class="legend" aria-label="guests (select one to outline its affinity)">${items}</ul>`;
}
