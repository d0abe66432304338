#!/usr/bin/env node
// kvcpu entry point. The build (`npm run build`, run by `npm ci`) bundles the CLI into
// dist/cli/ (one file plus a lazy chunk per command), so a command starts close to node's own
// start-up. In a clone where src/ is newer than that build (someone is editing), it runs the
// TypeScript sources through tsx instead (~1 s) so it is never stale — but only when tsx (a dev
// dependency) is installed. An installed package has neither src/*.ts nor tsx and always runs
// dist/ without looking at any source file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist/cli/main.js');
const stamp = join(root, 'dist/.build-stamp');
const sources = join(root, 'src/cli/main.ts');

/**
 * True when a folder or a built source file under src/ changed after `mtime` (the build
 * stamp's). One recursive readdir with file types and one stat per entry: folders catch added,
 * removed and renamed files (and editors that save by rename), files catch in-place writes.
 * Tests (*.test.ts) are not built, so they are not looked at. Plain string paths: path.join's
 * normalisation was a third of this walk's time.
 */
function changedSince(dir, mtime) {
  if (statSync(dir).mtimeMs > mtime) return true;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isDirectory() ? false : !e.name.endsWith('.ts') || e.name.endsWith('.test.ts')) continue;
    if (statSync(`${e.parentPath}/${e.name}`).mtimeMs > mtime) return true;
  }
  return false;
}

const hasBuild = existsSync(built) && existsSync(stamp);
// A development clone: the sources and tsx (a dev dependency, so only there after `npm ci` or
// `npm install` in the clone; a file test, no module resolution).
const devClone = existsSync(sources) && existsSync(join(root, 'node_modules/tsx/package.json'));
const fromSource = devClone && (process.env.KVCPU_FROM_SOURCE === '1' || !hasBuild || changedSince(join(root, 'src'), statSync(stamp).mtimeMs));

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
