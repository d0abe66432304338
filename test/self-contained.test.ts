// kvcpu ships without ../shared (the reference material beside this repository): user-facing
// text (messages, hints, `nova_bug`, help) must cite upstream (Nova function and bug number, QEMU
// file) instead of `../shared/...` or "notes §N", and production code must not read ../shared.
// Scans the shipped sources (src/ without tests and test helpers) with comments removed.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function shipped(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return shipped(p);
    return /\.ts$/.test(e.name) && !/\.test\.ts$|test-helpers\.ts$/.test(e.name) ? [p] : [];
  });
}

/** The code of a TypeScript file without its comments (strings kept). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const files = shipped(path.join(repoRoot, 'src'));

describe('self-contained: shipped code does not point at ../shared', () => {
  it('scans the shipped sources', () => expect(files.length).toBeGreaterThan(100));

  it('no string in shipped code mentions ../shared, shared/reference or "notes §"', () => {
    const hits: string[] = [];
    for (const f of files) {
      withoutComments(readFileSync(f, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          if (/\.\.\/shared|shared\/reference|shared\/notes|notes §/.test(line)) hits.push(`${path.relative(repoRoot, f)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });
});
