/**
 * docs/errors.md must document every stable error code the sources can raise, so users and
 * scripts can look any `E_...` up. Scans src/ (not tests) for
 *   - codes thrown: `new KvcpuError('E_X', ...)` (also multi-line), and the `fail('E_X', ...)`
 *     helpers that wrap it (pin rollback, -smp parser);
 *   - codes returned as values: `code: 'E_X'`, `error: 'E_X'` (-smp results, batch lines) and
 *     `return 'E_X'` (QMP error-class mapping);
 * and fails naming every code that has no `### E_X` heading in docs/errors.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(e.name) && !/\.test\.ts$|test-helpers\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

const CODE = String.raw`['"\x60](E_[A-Z0-9]+(?:_[A-Z0-9]+)*)['"\x60]`;
const THROWN = new RegExp(String.raw`new\s+KvcpuError\(\s*` + CODE, 'g');
const VIA_HELPER = new RegExp(String.raw`\bfail\(\s*` + CODE, 'g');
const AS_VALUE = new RegExp(String.raw`(?:\bcode|\berror)\s*:\s*` + CODE + String.raw`|\breturn\s+` + CODE, 'g');

/** code -> "file:line" of its first use. */
function collect(re: RegExp, files: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(re)) {
      const code = m[1] ?? m[2];
      if (!code || found.has(code)) continue;
      found.set(code, `${path.relative(repoRoot, f)}:${text.slice(0, m.index).split('\n').length}`);
    }
  }
  return found;
}

const files = sourceFiles(path.join(repoRoot, 'src'));
const doc = readFileSync(path.join(repoRoot, 'docs/errors.md'), 'utf8');
const documented = new Set([...doc.matchAll(/^### (E_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!));

function undocumented(found: Map<string, string>): string[] {
  return [...found].filter(([code]) => !documented.has(code)).map(([code, where]) => `${code} (${where})`);
}

describe('docs/errors.md documents every error code', () => {
  it('the scan finds codes in the sources (guards the regexes)', () => {
    const thrown = collect(THROWN, files);
    // Codes the core raises today; if these vanish, the scan (not the code base) is broken.
    for (const c of ['E_BAD_CPULIST', 'E_SYSFS_MISSING', 'E_BAD_JSON']) expect(thrown.has(c), c).toBe(true);
    expect(collect(AS_VALUE, files).has('E_SMP_PRODUCT_MISMATCH')).toBe(true);
  });

  it('every code thrown with new KvcpuError(...) has a ### heading', () => {
    expect(undocumented(collect(THROWN, files))).toEqual([]);
  });

  it('every code thrown through a fail(...) helper has a ### heading', () => {
    expect(undocumented(collect(VIA_HELPER, files))).toEqual([]);
  });

  it('every code returned as a value (-smp results, batch lines, QMP classes) has a ### heading', () => {
    expect(undocumented(collect(AS_VALUE, files))).toEqual([]);
  });

  it('every documented code appears once, under a heading with an explanation', () => {
    const headings = [...doc.matchAll(/^### (E_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!);
    expect(headings.length).toBe(new Set(headings).size);
    for (const code of headings) {
      const body = doc.split(new RegExp(`^### ${code}\\s*$`, 'm'))[1]!.split(/^#{2,3} /m)[0]!;
      expect(body.trim().length, `${code} has no text`).toBeGreaterThan(40);
    }
  });
});
