/**
 * Host trees under mutation (issue 15): copy a captured /proc+/sys tree, damage 1-4 of its files
 * (truncate, empty, garbage, huge, negative or 2^70-sized numbers, missing, symlink loops,
 * FIFOs, /dev/zero) and run the whole host read, its rendering, every `kvcpu report` section
 * and the consumers of the snapshot (topology suggest, plan). Each must answer — a value, a
 * warning, a skipped section with a documented code — never hang, never crash (E_INTERNAL),
 * never NaN. Two of 60 such trees hung kvcpu before the cpulist bound.
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collectCheckSection } from '../../src/check/report-section.ts';
import { collectModelsSection } from '../../src/cpu-models/report-section.ts';
import { collectGuestsSection, collectOvercommitSection } from '../../src/guests/report-section.ts';
import { collectHostSection } from '../../src/host/report-section.ts';
import { readHost } from '../../src/host/read-host.ts';
import { renderHost } from '../../src/host/render-host.ts';
import { buildPlanHost } from '../../src/plan/build-plan-host.ts';
import { planGuests } from '../../src/plan/plan-guests.ts';
import { parseGuestSpec } from '../../src/plan/parse-guest-spec.ts';
import { collectReport } from '../../src/report/collect-report.ts';
import { suggestTopology } from '../../src/topology/suggest-topology.ts';
import { badNumber, DOCUMENTED_CODES, fuzzAsync, junk, numberText, outcome, PER_CALL_MS } from './fuzz-kit.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURES = ['this-machine-amd-epyc-2c', 'old-kernel-hexmask-2s2c2t', 'ppc64le-lpar-pkg-minus1'].map((f) => path.join(REPO, 'test/fixtures/hosts', f));
const tmp = mkdtempSync(path.join(tmpdir(), 'kvcpu-hostfuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function filesOf(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesOf(root, r));
    else if (e.isFile() && /^(proc|sys)\//.test(r)) out.push(r);
  }
  return out;
}
const FILES = FIXTURES.map((f) => filesOf(f));
// Weight the files the reader parses most (cpulists, masks, ids) over the rest.
const interesting = (f: string) =>
  /online|possible|present|isolated|kernel_max|_list$|cpulist|cpumap|siblings|_cpus$|_id$|cpuinfo|distance|meminfo|status$|shared_cpu/.test(f);

type Mutation = {
  file: number;
  kind: 'truncate' | 'empty' | 'garbage' | 'huge' | 'negative' | 'bignum' | 'missing' | 'loop' | 'fifo' | 'devzero' | 'dir' | 'number';
  text: string;
  at: number;
};
const mutation: fc.Arbitrary<Mutation> = fc.record({
  file: fc.nat(),
  kind: fc.constantFrom(
    'truncate',
    'empty',
    'garbage',
    'huge',
    'negative',
    'bignum',
    'missing',
    'loop',
    'fifo',
    'devzero',
    'dir',
    'number',
    'bignum',
    'number',
  ),
  text: fc.oneof(junk, numberText),
  at: fc.nat(4000),
});

function apply(root: string, files: string[], m: Mutation): string {
  const pool = files.filter(interesting);
  const rel = (m.file % 3 === 0 ? files : pool)[m.file % (m.file % 3 === 0 ? files : pool).length]!;
  const abs = path.join(root, rel);
  switch (m.kind) {
    case 'truncate':
      truncateSync(abs, Math.min(m.at, statSync(abs).size));
      break;
    case 'empty':
      writeFileSync(abs, '');
      break;
    case 'garbage':
      writeFileSync(abs, m.text);
      break;
    case 'huge':
      // Past the reader's 1 MiB bound for sysfs files (cpuinfo: a long but legal file).
      writeFileSync(abs, rel === 'proc/cpuinfo' ? 'processor\t: 0\n'.repeat(20000) : '0-1,'.repeat(300_000));
      break;
    case 'negative':
      writeFileSync(abs, execFileSync('sed', ['-E', 's/[0-9]+/-1/g', abs]));
      break;
    case 'bignum':
      writeFileSync(abs, execFileSync('sed', ['-E', 's/[0-9]+/99999999999999999999999/', abs]));
      break;
    case 'number':
      writeFileSync(abs, m.text);
      break;
    case 'missing':
      unlinkSync(abs);
      break;
    case 'loop':
      unlinkSync(abs);
      symlinkSync(path.basename(abs), abs); // points at itself: ELOOP
      break;
    case 'fifo':
      unlinkSync(abs);
      mkfifoSyncShim(abs); // open(2) without a writer would block forever
      break;
    case 'devzero':
      unlinkSync(abs);
      symlinkSync('/dev/zero', abs); // never reaches EOF
      break;
    case 'dir':
      unlinkSync(abs);
      symlinkSync(path.dirname(abs), abs); // a directory where a file belongs (and a cycle)
      break;
  }
  return `${m.kind} ${rel}`;
}

let n = 0;
/** mkfifoSync is not in node:fs; mkfifo(1) from coreutils instead. */
function mkfifoSyncShim(p: string): void {
  execFileSync('mkfifo', [p]);
}

describe('fuzz: mutated host trees', () => {
  it('readHost, renderHost, every report section, topology suggest and plan answer on a damaged tree', async () => {
    await fuzzAsync(
      'host tree (readHost+report+suggest+plan)',
      fc.tuple(fc.nat(FIXTURES.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 })),
      async ([fi, muts]) => {
        const root = path.join(tmp, `t${++n}`);
        cpSync(FIXTURES[fi]!, root, { recursive: true, verbatimSymlinks: true });
        const done: string[] = [];
        try {
          for (const m of muts) {
            try {
              done.push(apply(root, FILES[fi]!, m));
            } catch {
              /* the file was already removed/replaced by an earlier mutation */
            }
          }
          // KVCPU_FUZZ_LOG=FILE records each tree before it is read: a hang leaves its last line there.
          if (process.env.KVCPU_FUZZ_LOG) appendFileSync(process.env.KVCPU_FUZZ_LOG, `${path.basename(FIXTURES[fi]!)}: ${done.join('; ')}\n`);
          const t0 = performance.now();
          const snap = outcome(() => readHost({ root }));
          if (snap.value) {
            expect(badNumber(snap.value), done.join('; ')).toBeNull();
            outcome(() => renderHost(snap.value!));
            const s = snap.value;
            const sug = outcome(() => suggestTopology({ vcpus: 4, host: s }));
            if (sug.value) expect(badNumber(sug.value)).toBeNull();
            const plan = outcome(() =>
              planGuests(buildPlanHost(s), [parseGuestSpec('name=g1,vcpus=2,policy=dedicated'), parseGuestSpec('name=g2,vcpus=3,policy=shared')]),
            );
            if (plan.value) expect(badNumber(plan.value)).toBeNull();
          }
          const report = await collectReport(
            [
              { id: 'host', title: 'Host CPUs', collect: collectHostSection },
              { id: 'checks', title: 'Virtualization readiness', collect: collectCheckSection },
              { id: 'models', title: 'CPU models', collect: collectModelsSection },
              { id: 'guests', title: 'Guests', collect: collectGuestsSection },
              { id: 'overcommit', title: 'Overcommit', collect: collectOvercommitSection },
            ],
            { root, live: false, color: false },
            'fuzz',
          );
          for (const sec of report.sections) {
            const err = (sec.data as { error?: { code: string; message: string } } | null)?.error;
            if (sec.status === 'skipped' && err) {
              expect(err.code === 'E_INTERNAL' ? `${sec.id}: ${err.message} after ${done.join('; ')}` : 'ok').toBe('ok');
              expect(DOCUMENTED_CODES.has(err.code), err.code).toBe(true);
            } else expect(badNumber(sec.data), `${sec.id} after ${done.join('; ')}`).toBeNull();
          }
          const ms = performance.now() - t0;
          expect(ms, `${done.join('; ')} took ${ms.toFixed(0)} ms`).toBeLessThan(PER_CALL_MS * 4);
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      },
      { runs: 120, timeMs: 8000 },
    );
  }, 120_000);
});
