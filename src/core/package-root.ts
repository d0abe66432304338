import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The kvcpu package folder (where package.json, build/ and the data snapshots live), found by
 * walking up from this module: the same answer whether kvcpu runs from src/ through tsx or from
 * the compiled dist/src/.
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
    if (up === dir) throw new Error('kvcpu: cannot find the package root (package.json named kvcpu)');
    dir = up;
  }
}

/** A path inside the kvcpu package, e.g. packagePath('src/cpu-models/data'). */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
