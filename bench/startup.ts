// Start-up: each kvcpu command as a new process, side by side with `node -e 0` (the floor any
// Node.js CLI pays). Goal (issue 11): every command ≤ 2× `node -e 0`, except commands that do
// real work on start (named below with what they do). Medians of whole-process wall time.
// NODE_EXTRA_CA_CERTS makes node read a CA bundle on every start (~90 ms here): it is removed
// from the children's environment so the figures show kvcpu, not the machine's TLS setup.
// KVCPU_BENCH_BEFORE=OTHER/bin/kvcpu.js adds a "before" column: the same commands run by
// another build (e.g. a worktree of an older commit), interleaved run by run with this one so
// both see the same machine load.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const env: NodeJS.ProcessEnv = { ...process.env };
const hadCaCerts = env.NODE_EXTRA_CA_CERTS !== undefined;
delete env.NODE_EXTRA_CA_CERTS;
delete env.KVCPU_NO_CACHE;
env.NO_COLOR = '1';
// A probe cache of the bench's own, warmed by one untimed run of each command: the figures are
// those of a user's second and later commands (the first `models` under KVM asks QEMU, ~0.4 s).
const cacheDir = mkdtempSync(join(tmpdir(), 'kvcpu-bench-cache-'));
env.KVCPU_CACHE_DIR = cacheDir;

const bin = fileURLToPath(new URL('../bin/kvcpu.js', import.meta.url));
const before = process.env.KVCPU_BENCH_BEFORE;
const runs = Number(process.env.KVCPU_BENCH_RUNS ?? 11);

function once(args: string[]): { ms: number; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: r.status };
}

/** Medians of `runs` runs of each argument list, run in turn (a, b, a, b, ...). */
function timeTogether(lists: string[][]): { ms: number; status: number | null }[] {
  const samples = lists.map(() => [] as number[]);
  const status = lists.map(() => 0 as number | null);
  for (const args of lists) once(args);
  for (let i = 0; i < runs; i++) {
    lists.forEach((args, j) => {
      const r = once(args);
      samples[j]!.push(r.ms);
      status[j] = r.status;
    });
  }
  return samples.map((s, j) => ({ ms: median(s), status: status[j]! }));
}

/** Commands and, for those that do real work on start, what that work is. */
const commands: { args: string[]; work?: string }[] = [
  { args: ['--version'] },
  { args: ['--help'] },
  { args: ['host', '--json'] },
  { args: ['smp', '8,threads=2', '--json'] },
  {
    args: ['topology', 'suggest', '--vcpus', '2', '--json'],
    work: "renders the suggestion for every consumer (QEMU, libvirt, KubeVirt, Nova, Proxmox); KubeVirt's YAML loads the yaml library, most of the time",
  },
  { args: ['models'], work: "the runnability of every QEMU model on this host (and, once per QEMU/kernel/boot, QEMU's KVM -cpu host expansion, then cached)" },
  { args: ['overcommit', '--json'], work: "reads every QEMU guest's threads from /proc and asks each guest's QMP socket which are vCPUs" },
  { args: ['check', '--json'], work: 'creates a VM on /dev/kvm and reads the kernel log' },
  { args: ['report'], work: 'every section: host, checks (KVM probe), models, guests' },
];

const base = timeTogether([['-e', '0']])[0]!.ms;
const inClone = existsSync(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
console.log(`start-up, whole-process medians of ${runs} runs; NODE_EXTRA_CA_CERTS ${hadCaCerts ? 'removed from' : 'not set in'} the children's environment`);
if (before) console.log(`before = ${before}`);
const rows: { name: string; ms: number; was?: number; note: string }[] = [{ name: 'node -e 0', ms: base, note: '' }];
// The floor of any ESM command-line tool: node starting an empty .mjs file (the module loader).
const empty = join(cacheDir, 'empty.mjs');
writeFileSync(empty, '');
const esm = timeTogether([[empty]])[0]!.ms;
rows.push({ name: 'node empty.mjs', ms: esm, note: 'the floor of an ESM entry point, for reference' });
for (const c of commands) {
  const [r, b] = timeTogether(
    before
      ? [
          [bin, ...c.args],
          [before, ...c.args],
        ]
      : [[bin, ...c.args]],
  );
  const ratio = r!.ms / base;
  const verdict = ratio <= 2 ? 'ok (≤ 2×)' : c.work ? `real work: ${c.work}` : 'OVER GOAL (> 2×)';
  rows.push({
    name: `kvcpu ${c.args.join(' ')}`,
    ms: r!.ms,
    ...(b ? { was: b.ms } : {}),
    note: `${verdict}${r!.status === 0 || r!.status === 1 ? '' : ` [exit ${r!.status}]`}`,
  });
}
rmSync(cacheDir, { recursive: true, force: true });
const w = Math.max(...rows.map((r) => r.name.length));
const head = before ? `${'before'.padStart(8)}  ${'vs node'.padStart(7)}  ` : '';
console.log(`${'what'.padEnd(w)}  ${head}${'ms'.padStart(8)}  ${'vs node'.padStart(7)}`);
for (const r of rows) {
  const was = before
    ? r.was === undefined
      ? `${''.padStart(8)}  ${''.padStart(7)}  `
      : `${r.was.toFixed(1).padStart(8)}  ${(r.was / base).toFixed(2).padStart(6)}x  `
    : '';
  console.log(`${r.name.padEnd(w)}  ${was}${r.ms.toFixed(1).padStart(8)}  ${(r.ms / base).toFixed(2).padStart(6)}x  ${r.note}`);
}
if (inClone) {
  console.log(
    '(in a clone with tsx, bin/kvcpu.js also stats src/ (folders and non-test .ts files) to make sure dist/ is not stale; an installed package has no src/ and skips that)',
  );
}
