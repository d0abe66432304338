import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNovaCase } from './nova-case.ts';
import { answerNovaCase, fitNovaHost } from './fit-nova-host.ts';
import { ZED_SEMANTICS } from './fit-nova-cell.ts';
import { checkNovaAnswer } from './check-nova-answer.ts';
import { answerNovaUsage, parseNovaUsageCase } from './nova-usage.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.resolve(repoRoot, '../shared/reference/nova/pinning-cases.jsonl');
const have = existsSync(file);
type Case = Record<string, any>;
const cases: Case[] = have
  ? readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((d) => d.kind === 'fit_host' || d.kind === 'fit_cell')
  : [];

/** The answer kvcpu must give: Nova's, except where the README marks Nova's answer as a defect. */
function wanted(d: Case): { answer: Case; bug: boolean } {
  const fl = d.flags ?? {};
  if (fl.bug_free_search_agrees === false) return { answer: fl.bug_free_answer, bug: true };
  if (fl.master_semantics_agrees === false) return { answer: fl.master_answer, bug: true };
  // README: host_after CPUPinningInvalid = "the isolate plus emulator-isolate bug": Nova's own claim rejects its answer.
  if (d.expected.host_after?.error === 'CPUPinningInvalid') return { answer: { fits: false }, bug: true };
  return { answer: d.expected, bug: false };
}

describe.skipIf(!have)(`Nova 26.2.2 pinning cases (${have ? file : 'missing: ../shared/reference not found'})`, () => {
  it('has the fit cases', () => expect(cases.length).toBeGreaterThan(200));

  it.each(cases.map((d) => [d.id as string, d]))('%s: verdict, validity, nova_bug note', (_id, d) => {
    const { answer, bug } = wanted(d);
    const got = answerNovaCase(parseNovaCase(d));
    expect(got.fits).toBe(answer.fits);
    expect(Boolean(got.nova_bug)).toBe(bug);
    expect(checkNovaAnswer(d, got)).toEqual([]);
    if (got.fits) {
      // Same host cells as Nova's (bug-free) first fit; same pCPUs unless Nova's CPython set order differs.
      expect(got.cells!.map((c) => c.host_cell)).toEqual(answer.cells.map((c: Case) => c.host_cell));
      if (d.flags?.ascending_order_agrees !== false) {
        expect(got.cells!.map((c) => [c.pinning, c.cpuset_reserved, c.pagesize])).toEqual(
          answer.cells.map((c: Case) => [c.pinning, c.cpuset_reserved, c.pagesize]),
        );
      }
    }
    if (got.fits && d.kind === 'fit_host') {
      // The claim never double-books a CPU, and matches Nova's accounting where the pCPUs match.
      expect(got.host_after).toBeDefined();
      if (Array.isArray(answer.host_after) && d.flags?.ascending_order_agrees !== false) expect(got.host_after).toEqual(answer.host_after);
    }
    if (!bug) {
      // Under Zed semantics kvcpu reproduces Nova 26.2.2's verdict too.
      const zed = answerNovaCase(parseNovaCase(d), { semantics: ZED_SEMANTICS, explainNovaBugs: false });
      expect(zed.fits).toBe(d.expected.fits);
    }
  });

  it('the checker rejects Nova answers the README marks as defects', () => {
    const d = cases.find((x) => x.id === 'pin-test-060')!;
    expect(checkNovaAnswer(d, d.expected).join(' ')).toMatch(/partly used/);
  });

  it('the checker catches broken pinnings (double claim, pinned CPU, wrong vCPU set, isolate sibling)', () => {
    const d = cases.find(
      (x) => x.kind === 'fit_host' && x.expected.fits && x.expected.cells[0].pinning?.length >= 2 && x.host.cells[0].pinned_cpus.length > 0,
    )!;
    const good = answerNovaCase(parseNovaCase(d));
    expect(checkNovaAnswer(d, good)).toEqual([]);
    const dup = structuredClone(good);
    dup.cells![0]!.pinning![1]![1] = dup.cells![0]!.pinning![0]![1];
    expect(checkNovaAnswer(d, dup).join(' ')).toMatch(/twice/);
    const taken = structuredClone(good);
    const hc = d.host.cells.find((h: Case) => h.id === taken.cells![0]!.host_cell);
    if (hc.pinned_cpus.length) {
      taken.cells![0]!.pinning![0]![1] = hc.pinned_cpus[0];
      expect(checkNovaAnswer(d, taken).join(' ')).toMatch(/already pinned/);
    }
    const short = structuredClone(good);
    short.cells![0]!.pinning!.pop();
    expect(checkNovaAnswer(d, short).join(' ')).toMatch(/requested/);
  });

  it('explains the fit-cache aliasing bug (pin-hand-001)', () => {
    const d = cases.find((x) => x.id === 'pin-hand-001')!;
    const got = fitNovaHost(parseNovaCase(d) as never);
    expect(got.fits).toBe(true);
    expect(got.nova_bug).toMatch(/fits=false/);
  });
});

const usage: Case[] = have
  ? readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((d) => d.kind === 'usage')
  : [];
describe.skipIf(!have)('Nova 26.2.2 claim accounting (usage cases)', () => {
  it.each(usage.map((d) => [d.id as string, d]))('%s', (_id, d) => {
    const got = answerNovaUsage(parseNovaUsageCase(d));
    const want = d.expected.host_after ?? d.expected;
    if ('error' in want) expect(got).toMatchObject({ error: want.error });
    else expect(got).toEqual({ host_after: want });
  });
});

describe('Nova-shaped search scales (no walk over host-cell orderings)', () => {
  it('16 host cells, 8-cell guest whose big cell fits nowhere: answers fast', () => {
    const cells = Array.from({ length: 16 }, (_, i) => ({
      id: i,
      cpuset: [],
      pcpuset: Array.from({ length: 8 }, (_, j) => i * 8 + j),
      siblings: Array.from({ length: 4 }, (_, j) => [i * 8 + 2 * j, i * 8 + 2 * j + 1]),
      memory: 16384,
      memory_usage: 0,
      cpu_usage: 0,
      pinned_cpus: [],
      mempages: [],
    }));
    const inst = {
      emulator_threads_policy: null,
      cells: Array.from({ length: 8 }, (_, i) => ({
        cpuset: [],
        pcpuset: i === 0 ? Array.from({ length: 10 }, (_, j) => j) : [10 + i],
        memory: 1024,
        pagesize: null,
        cpu_policy: 'dedicated',
        cpu_thread_policy: null,
      })),
    };
    const c = parseNovaCase({ kind: 'fit_host', host: { cells }, instance: inst, limits: null });
    const t = performance.now();
    const a = answerNovaCase(c, { explainNovaBugs: false });
    // Nova walks 16!/8! orderings here (~287 s, notes §9); generous bound for a loaded CI machine.
    expect(performance.now() - t).toBeLessThan(500);
    expect(a.fits).toBe(false);
    expect(a.reasons!.join(' ')).toMatch(/guest cell 0: fits no host cell/);
  });
});
