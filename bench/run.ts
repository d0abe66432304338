// `npm run bench`: runs every benchmark in this folder, one after another (they compete for
// the same 2 CPUs otherwise). Pass names to run a subset: `npm run bench -- guests plan`.
// On a terminal, a progress line on stderr says which benchmark runs and for how long; the
// benchmarks' own output then goes through this process, line by line, above that line.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progressLine, type ProgressLine } from '../src/cli/progress.ts';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, '')))
  .sort();

/** Copy a child's stream to ours in whole lines, each written above the progress line. */
function relay(from: NodeJS.ReadableStream, to: NodeJS.WriteStream, bar: ProgressLine): () => void {
  let pending = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    pending += chunk;
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) return;
    const lines = pending.slice(0, cut + 1);
    pending = pending.slice(cut + 1);
    bar.above(() => to.write(lines));
  });
  return () => {
    if (pending) bar.above(() => to.write(pending + '\n'));
    pending = '';
  };
}

function runOne(file: string, bar: ProgressLine | null): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: bar ? ['inherit', 'pipe', 'pipe'] : 'inherit' });
    const flush = bar ? [relay(child.stdout!, process.stdout, bar), relay(child.stderr!, process.stderr, bar)] : [];
    child.on('close', (code) => {
      for (const f of flush) f();
      resolve(code);
    });
  });
}

const bar = progressLine({ label: 'bench', tickMs: 1000 });
let failed = 0;
for (const [i, f] of files.entries()) {
  const header = `\n=== bench/${f} ===\n`;
  if (bar) bar.above(() => process.stdout.write(header));
  else process.stdout.write(header);
  bar?.update(i, files.length, f.replace(/\.ts$/, ''));
  if ((await runOne(f, bar)) !== 0) failed++;
}
bar?.end();
process.exitCode = failed ? 1 : 0;
