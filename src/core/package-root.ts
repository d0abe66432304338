import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvcpuError } from './errors.ts';

let cached: string | undefined;

/**
 * The kvcpu package folder (where package.json, build/ and the data snapshots live), found by
 * walking up from this module: the same answer whether kvcpu runs from src/ through tsx or from
 * the compiled dist/lib/ and the bundled dist/cli/.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kvcpu') return (cached = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) {
      throw new KvcpuError('E_INSTALL_BROKEN', 'cannot find the kvcpu package root (a package.json named kvcpu above this module)', {
        hint: 'reinstall kvcpu (npm install kvcpu) or run it from a clone after `npm ci`',
      });
    }
    dir = up;
  }
}

/** A path inside the kvcpu package, e.g. packagePath('src/cpu-models/data'). */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}

/**
 * A shipped data file of a capability (`dataPath('cpu-models', 'qemu-7.2-x86.json')`). The
 * sources keep data beside the code that owns it (src/<capability>/data/, written by the
 * scripts/gen-* generators); the build copies it to dist/data/<capability>/, and code running
 * from dist/ reads that copy, so an installed package needs no src/ at all.
 */
export function dataPath(capability: string, ...file: string[]): string {
  const root = packageRoot();
  const here = relative(root, dirname(fileURLToPath(import.meta.url)));
  if (here === 'dist' || here.startsWith(`dist${sep}`)) return join(root, 'dist', 'data', capability, ...file);
  return join(root, 'src', capability, 'data', ...file);
}

let version: string | undefined;

/** kvcpu's version: the `version` of its package.json (the one place it is written). */
export function kvcpuVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}
