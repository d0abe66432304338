/**
 * `kvcpu report --format html|markdown` on the real-machine captures in ../shared/reference/hosts
 * (read in place): the page draws one tile per CPU directory of the capture, nested the way the
 * case's independent answer (expected.json per_cpu, from lscpu/hwloc) groups them, and host text
 * (guest names) cannot break out of the HTML or the Markdown.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCpulist } from '../core/cpulist.ts';
import { disputedFields } from '../host/compare-expected.ts';
import { buildReport } from './report.ts';
import { renderReportHtml } from './report-html.ts';
import { mdEscape, renderReportMarkdown } from './report-markdown.ts';
import { ReportSchema, type Report } from './report-schema.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const casesDir = path.resolve(repoRoot, '../shared/reference/hosts/cases');
const cases = existsSync(casesDir) ? readdirSync(casesDir).sort() : [];

interface El {
  tag: string;
  attrs: Record<string, string>;
  parent: El | null;
  children: El[];
}

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input', 'wbr']);

/** A strict little tree builder for the page kvcpu writes: every non-void tag must close in order. */
function parseTree(html: string): El {
  const root: El = { tag: '#root', attrs: {}, parent: null, children: [] };
  let cur = root;
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<!doctype html>/i, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:="[^"]*")?)*)\s*>/g)) {
    const [, close, tag, rawAttrs] = m as unknown as [string, string, string, string];
    if (close) {
      if (cur.tag !== tag) throw new Error(`</${tag}> closes <${cur.tag}>`);
      cur = cur.parent!;
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rawAttrs.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) attrs[a[1]!] = a[2] ?? '';
    const el: El = { tag, attrs, parent: cur, children: [] };
    cur.children.push(el);
    if (!VOID.has(tag)) cur = el;
  }
  if (cur !== root) throw new Error(`<${cur.tag}> never closed`);
  return root;
}

function* walk(e: El): Generator<El> {
  for (const c of e.children) {
    yield c;
    yield* walk(c);
  }
}

const find = (root: El, pred: (e: El) => boolean) => [...walk(root)].filter(pred);
const ancestor = (e: El, level: string): El | null => {
  for (let p = e.parent; p; p = p.parent) if (p.attrs['data-level'] === level) return p;
  return null;
};
const cpusIn = (box: El) =>
  find(box, (x) => 'data-cpu' in x.attrs)
    .map((x) => Number(x.attrs['data-cpu']))
    .sort((a, b) => a - b);
const sorted = (list: string) => parseCpulist(list).sort((a, b) => a - b);

interface ExpectedCpu {
  cpu: number;
  online: boolean;
  socket?: number | null;
  thread_siblings?: string | null;
  node?: number | null;
  l3_cpus?: string | null;
}

describe.skipIf(cases.length === 0)('report --format html on the reference captures', () => {
  it('has the 67 cases', () => expect(cases.length).toBe(67));
  let checkedCores = 0;
  let checkedL3 = 0;
  let checkedOffline = 0;
  for (const id of cases) {
    it(id, async () => {
      const dir = path.join(casesDir, id);
      const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
        cpus: { cpu_dir_count: number };
        per_cpu: ExpectedCpu[];
        topology?: { primary_covers_cpus?: string };
        numa?: { nodes?: { id: number; cpus: string }[] };
      };
      // As compare-expected.ts reads the oracle: disputed fields are skipped; in cpuset-restricted
      // cases hwloc's L3 answer covers the allowed CPUs only; the node is the sysfs one.
      const disputed = disputedFields(expected);
      const covers = expected.topology?.primary_covers_cpus ?? '';
      const covered = /^[\d,-]+$/.test(covers) ? new Set(parseCpulist(covers)) : null;
      const keep = (list: number[]) => list.filter((x) => !covered || covered.has(x));
      const sysNode = (cpu: number) => expected.numa?.nodes?.find((n) => parseCpulist(n.cpus).includes(cpu))?.id;
      const { report } = await buildReport({ root: path.join(dir, 'root'), only: ['host'], kvcpuVersion: 'test' });
      const html = renderReportHtml(report);
      const tree = parseTree(html);
      const tiles = find(tree, (e) => 'data-cpu' in e.attrs);
      // One tile per CPU directory of the capture (online and offline), each CPU once.
      expect(tiles.length).toBe(expected.cpus.cpu_dir_count);
      expect(new Set(tiles.map((t) => t.attrs['data-cpu'])).size).toBe(tiles.length);
      // Nothing the page could fetch.
      expect(html).not.toMatch(/<script|<link(?![^>]*href="data:)|\bsrc=|url\(/i);
      const byCpu = new Map(tiles.map((t) => [Number(t.attrs['data-cpu']), t]));
      const online = new Set(expected.per_cpu.filter((c) => c.online).map((c) => c.cpu));
      for (const c of expected.per_cpu) {
        const tile = byCpu.get(c.cpu)!;
        expect(tile, `CPU ${c.cpu}`).toBeDefined();
        if (!c.online) {
          expect(tile.attrs['data-state']).toBe('offline');
          expect(ancestor(tile, 'node')!.attrs['data-key']).toBe('offline');
          checkedOffline++;
          continue;
        }
        expect(tile.attrs['data-state']).toMatch(/^online /);
        // The threads of one core (its online thread siblings) share one core box, alone.
        if (c.thread_siblings && !disputed.has('thread_siblings')) {
          const core = ancestor(tile, 'core')!;
          expect(cpusIn(core), `core of CPU ${c.cpu}`).toEqual(sorted(c.thread_siblings).filter((x) => online.has(x)));
          checkedCores++;
        }
        if (c.l3_cpus && !disputed.has('l3_domains') && (!covered || covered.has(c.cpu))) {
          expect(keep(cpusIn(ancestor(tile, 'l3')!)), `L3 of CPU ${c.cpu}`).toEqual(keep(sorted(c.l3_cpus).filter((x) => online.has(x))));
          checkedL3++;
        }
        if (c.socket !== null && c.socket !== undefined) expect(ancestor(tile, 'socket')!.attrs['data-key']).toBe(String(c.socket));
        const node = sysNode(c.cpu) ?? c.node;
        if (node !== null && node !== undefined && !disputed.has('numa')) expect(ancestor(tile, 'node')!.attrs['data-key']).toBe(String(node));
      }
    });
  }
  it('compared core, L3 and offline placement for many CPUs (counted)', () => {
    expect(checkedCores).toBeGreaterThan(1000);
    expect(checkedL3).toBeGreaterThan(500);
    expect(checkedOffline).toBeGreaterThan(4);
  });
});

/** A report of an asymmetric capture with guests whose threads sit on some of its CPUs. */
async function reportWithGuests(names: string[]): Promise<Report> {
  const root = path.join(casesDir, 'hw-16em64t-4s2c2t-offlines', 'root');
  const { report } = await buildReport({ root, only: ['host', 'checks', 'guests', 'overcommit'], kvcpuVersion: 'test' });
  const psrs = [0, 8, 15, 7];
  report.sections.guests!.data!.guests = names.map((name, i) => ({
    pid: 1000 + i,
    name,
    startTime: 1,
    accel: 'kvm',
    tcgThread: null,
    cpuModel: 'qemu64',
    smp: '2',
    vcpus: 2,
    maxCpus: 2,
    memoryMiB: 64,
    vcpuSource: 'thread-names',
    libvirt: false,
    qmpSockets: [],
    threads: [0, 1].map((v) => ({
      tid: 2000 + 10 * i + v,
      comm: `CPU ${v}/KVM`,
      role: 'vcpu' as const,
      vcpu: v,
      state: v ? 'S' : 'R',
      psr: psrs[(i * 2 + v) % psrs.length]!,
      psrStale: false,
      affinity: v ? '0-1,3-4,6-12,15' : '7',
      cpuTicks: 5,
      voluntarySwitches: null,
      involuntarySwitches: null,
      migrations: null,
      runNs: null,
      waitNs: null,
      core: null,
      siblings: null,
      node: 0,
    })),
  }));
  return ReportSchema.parse(report) as Report;
}

const HOSTILE = `evil"'<script>alert(1)</script>|x\n# y *z* [a](http://b) \`c\``;

describe.skipIf(cases.length === 0)('report documents escape host text', () => {
  it('html: a chip per vCPU on its psr tile, the hostile name only as text', async () => {
    const report = await reportWithGuests(['web', HOSTILE]);
    const html = renderReportHtml(report);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain(`"'<`);
    expect(html).toContain('evil&quot;&#39;&lt;script&gt;alert(1)&lt;/script&gt;');
    const tree = parseTree(html);
    const chips = find(tree, (e) => e.attrs.class?.split(' ').includes('chip') === true);
    expect(chips.length).toBe(4);
    for (const c of chips) {
      const tile = (function up(e: El): El {
        return 'data-cpu' in e.attrs ? e : up(e.parent!);
      })(c);
      const g = report.sections.guests!.data!.guests.find((x) => x.pid === Number(c.attrs['data-pid']))!;
      const t = g.threads.find((x) => x.vcpu === Number(c.attrs['data-vcpu']))!;
      expect(Number(tile.attrs['data-cpu'])).toBe(t.psr);
      // The attribute decodes back to the exact name.
      expect(
        c.attrs['data-guest']!.replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&'),
      ).toBe(g.name);
    }
    // Verdicts and states are words, not only colours.
    expect(html).toMatch(/<span class="verdict v-(PASS|WARN|FAIL)">(PASS|WARN|FAIL)<\/span>/);
    expect(find(tree, (e) => e.tag === 'tr' && 'data-guest' in e.attrs).length).toBe(2);
  });

  it('markdown: one table row per guest, the hostile name cannot split cells, add lines or open HTML', async () => {
    const report = await reportWithGuests(['web', HOSTILE]);
    const md = renderReportMarkdown(report);
    const lines = md.split('\n');
    const head = lines.findIndex((l) => l.startsWith('| guest |'));
    const rows = lines.slice(head + 2).filter((l) => l.startsWith('| '));
    expect(rows.length).toBe(2);
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    expect(cells(rows[1]!)).toBe(cells(lines[head]!));
    expect(rows[1]).toContain('evil"\'\\<script\\>alert(1)\\</script\\>\\|x # y \\*z\\* \\[a\\](http://b) \\`c\\`');
    expect(md).not.toMatch(/(^|[^\\])<script/);
    expect(lines.filter((l) => l.startsWith('# ')).length).toBe(1);
    expect(md).toContain('| web | 1000 | 2 | kvm | qemu64 | 0→0, 1→8 | pinned (1 of 2 vCPU threads) |');
    // Checks as a list, worst first, fixes under them.
    const from = lines.indexOf('## Virtualization readiness');
    const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
    const checks = lines.slice(from, to).filter((l) => /^- \*\*(PASS|WARN|FAIL|SKIP)\*\* /.test(l));
    expect(checks.length).toBe(report.sections.checks!.data!.checks.length);
    const rank = { FAIL: 0, WARN: 1, PASS: 2, SKIP: 3 } as const;
    const order = checks.map((l) => rank[l.slice(4, 8) as keyof typeof rank]);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(md).toMatch(/\n {2}- fix: /);
  });

  it('mdEscape turns control characters into spaces and escapes inline syntax', () => {
    expect(mdEscape('a\r\nb\tc\u0007d')).toBe('a b c d');
    expect(mdEscape('x|y*z_w`v<b>&[l]~')).toBe('x\\|y\\*z\\_w\\`v\\<b\\>\\&\\[l\\]\\~');
    expect(mdEscape('back\\slash')).toBe('back\\\\slash');
  });
});
