// `npm run gen:man` (part of `npm run gen`): writes man/kvcpu.1 and man/kvcpu-<command>.1 from the
// commander definitions themselves (src/cli/command-tree.ts), so `man kvcpu-pin` says what
// `kvcpu pin --help` says. test/man-pages.test.ts fails when the committed pages are stale and
// renders each with `man -l` checking for warnings. package.json `man` lists the pages, so
// `npm install -g` puts them where man finds them.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../src/cli/main.ts';
import { commandTree } from '../src/cli/command-tree.ts';
import { renderManPages } from '../src/cli/render-man.ts';
import { kvcpuVersion } from '../src/core/package-root.ts';

export async function manPages(): Promise<Map<string, string>> {
  const program = await buildProgram({ io: { out: () => undefined, err: () => undefined, color: false, stdin: process.stdin }, exitCode: 0 });
  // No date in the pages: regenerating must leave no diff (CI checks it).
  return renderManPages(commandTree(program), kvcpuVersion(), '');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'man');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.1')) rmSync(join(dir, f));
  const pages = await manPages();
  for (const [name, text] of pages) writeFileSync(join(dir, name), text);
  // package.json `man` lists exactly these pages (npm links them into man1 on install -g).
  const pkgPath = join(dir, '..', 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { man?: string[] };
  const list = [...pages.keys()].sort().map((n) => `./man/${n}`);
  if (JSON.stringify(pkg.man) !== JSON.stringify(list)) {
    pkg.man = list;
    writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
  }
  console.log(`wrote ${pages.size} man pages to ${dir}`);
}
