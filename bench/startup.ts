// Start-up: each kvcpu command as a new process, side by side with `node -e 0` (the floor any
// Node.js CLI pays). Goal (issue 11): every command ≤ 2× `node -e 0`, except commands that do
// real work on start (named below with what they do). Medians of whole-process wall time.
// NODE_EXTRA_CA_CERTS makes node read a CA bundle on every start (~90 ms here): it is removed
// from the children's environment so the figures show kvcpu, not the machine's TLS setup.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const env = { ...process.env };
const hadCaCerts = env.NODE_EXTRA_CA_CERTS !== undefined;
delete env.NODE_EXTRA_CA_CERTS;
env.NO_COLOR = '1';

const bin = fileURLToPath(new URL('../bin/kvcpu.js', import.meta.url));
const runs = Number(process.env.KVCPU_BENCH_RUNS ?? 11);

function time(args: string[]): { ms: number; status: number | null } {
  const out: number[] = [];
  let status: number | null = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    status = r.status;
  }
  return { ms: median(out), status };
}

/** Commands and, for those that do real work on start, what that work is. */
const commands: { args: string[]; work?: string }[] = [
  { args: ['--version'] },
  { args: ['--help'] },
  { args: ['host', '--json'] },
  { args: ['smp', '8,threads=2', '--json'] },
  { args: ['topology', 'suggest', '--vcpus', '2', '--json'] },
  { args: ['models'] },
  { args: ['overcommit', '--json'] },
  { args: ['check', '--json'], work: 'creates a VM on /dev/kvm and reads the kernel log' },
  { args: ['report'], work: 'every section: host, checks (KVM probe), models, guests' },
];

const base = time(['-e', '0']).ms;
const inClone = existsSync(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
console.log(`start-up, whole-process medians of ${runs} runs; NODE_EXTRA_CA_CERTS ${hadCaCerts ? 'removed from' : 'not set in'} the children's environment`);
const rows: [string, number, string][] = [['node -e 0', base, '']];
for (const c of commands) {
  const r = time([bin, ...c.args]);
  const ratio = r.ms / base;
  const verdict = ratio <= 2 ? 'ok (≤ 2×)' : c.work ? `real work: ${c.work}` : 'OVER GOAL (> 2×)';
  rows.push([`kvcpu ${c.args.join(' ')}`, r.ms, `${verdict}${r.status === 0 || r.status === 1 ? '' : ` [exit ${r.status}]`}`]);
}
const w = Math.max(...rows.map(([n]) => n.length));
console.log(`${'what'.padEnd(w)}  ${'ms'.padStart(8)}  ${'vs node'.padStart(7)}`);
for (const [name, ms, note] of rows) {
  console.log(`${name.padEnd(w)}  ${ms.toFixed(1).padStart(8)}  ${(ms / base).toFixed(2).padStart(6)}x  ${note}`);
}
if (inClone) {
  console.log('(in a clone, bin/kvcpu.js also stats every src/*.ts to make sure dist/ is not stale; an installed package has no src/ and skips that)');
}
