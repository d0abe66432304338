// Host topology read: kvcpu's in-process readHost (what `kvcpu report` and every capability use)
// side by side with `lscpu` (util-linux), which admins run for the same answer, in one run.
// Also the whole CLI as a new process (`kvcpu host --json`), to show start-up cost honestly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readHost } from '../src/host/read-host.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(runs: number, fn: () => void): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(out);
}

const root = process.env.KVCPU_BENCH_ROOT ?? '/';
const bin = fileURLToPath(new URL('../bin/kvcpu.js', import.meta.url));
const hasLscpu = spawnSync('lscpu', ['--version']).status === 0;

readHost({ root }); // warm the module graph
const rows: [string, number][] = [];
rows.push(['kvcpu readHost (in-process)', time(50, () => readHost({ root }))]);
if (hasLscpu) {
  rows.push(['lscpu (summary)', time(20, () => spawnSync('lscpu', root === '/' ? [] : ['--sysroot', root]))]);
  rows.push(['lscpu -e (per CPU)', time(20, () => spawnSync('lscpu', root === '/' ? ['-e'] : ['-e', '--sysroot', root]))]);
}
rows.push(['kvcpu host --json (new process)', time(5, () => spawnSync(process.execPath, [bin, 'host', '--json', '--root', root]))]);

const base = rows[0]![1];
const w = Math.max(...rows.map(([n]) => n.length));
console.log(`host topology read, root ${root}, medians`);
console.log(`${'what'.padEnd(w)}  ${'ms'.padStart(9)}  vs kvcpu in-process`);
for (const [name, ms] of rows) console.log(`${name.padEnd(w)}  ${ms.toFixed(3).padStart(9)}  ${(ms / base).toFixed(1)}x`);
if (!hasLscpu) console.log('lscpu not installed: apt-get install util-linux');
