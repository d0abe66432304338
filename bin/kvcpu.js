#!/usr/bin/env node
// kvcpu entry point. The build (`npm run build`, run by `npm ci`) bundles the CLI into
// dist/cli/ (one file plus a lazy chunk per command), so a command starts close to node's own
// start-up. In a clone where src/ is newer than that build (someone is editing), it runs the
// TypeScript sources through tsx instead (~1 s) so it is never stale — but only when tsx (a dev
// dependency) is installed; an installed package has no src/*.ts and always runs dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/cli/main.js');
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

function tsxInstalled() {
  try {
    createRequire(join(root, 'package.json')).resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

const hasBuild = existsSync(built) && existsSync(stamp);
const sources = join(root, 'src/cli/main.ts');
const fromSource =
  existsSync(sources) && (process.env.KVCPU_FROM_SOURCE === '1' || !hasBuild || statSync(stamp).mtimeMs < newestSource(join(root, 'src'))) && tsxInstalled();

let entry;
if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = sources;
} else if (hasBuild) {
  entry = built;
} else {
  process.stderr.write('error E_INSTALL_BROKEN: kvcpu is not built (no dist/cli/main.js)\nhint: run `npm run build` (or `npm ci`) in the kvcpu folder\n');
  process.exit(2);
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
