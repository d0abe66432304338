#!/usr/bin/env node
// kvcpu entry point. `npm ci` compiles src/ to dist/ (npm run build, ~7 s), so the CLI starts in
// about 0.2 s like the tools it sits beside; while src/ is newer than that build (someone is
// editing), it runs the TypeScript sources through tsx instead (~1 s), so it is never stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/src/cli/main.js');
const stamp = join(root, 'dist/.build-stamp');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let entry;
if (process.env.KVCPU_FROM_SOURCE !== '1' && existsSync(built) && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource(join(root, 'src'))) {
  entry = built;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src/cli/main.ts');
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
