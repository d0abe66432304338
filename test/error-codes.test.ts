/**
 * The table of codes (src/core/error-codes.ts) must hold every stable error code the sources can
 * raise, and docs/errors.md must be what `npm run gen:errors` writes from it, so users and
 * scripts can look any `E_...` up. Scans src/ (not tests) for
 *   - codes thrown: `new KvcpuError('E_X', ...)` (also multi-line), and the `fail('E_X', ...)`
 *     helpers that wrap it (pin rollback, -smp parser);
 *   - codes returned as values: `code: 'E_X'`, `error: 'E_X'` (-smp results, batch lines) and
 *     `return 'E_X'` (QMP error-class mapping);
 * and fails naming every code the table lacks (the ErrorCode type catches most at compile time;
 * codes returned as values through wider types are caught here).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorDocAnchor, errorSummary, exitStatusOf, type ErrorCode } from '../src/core/error-codes.ts';
import { renderErrorsDoc } from '../scripts/gen-errors-doc.ts';

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
const documented = new Set(Object.keys(ERROR_CODES));

function undocumented(found: Map<string, string>): string[] {
  return [...found].filter(([code]) => !documented.has(code)).map(([code, where]) => `${code} (${where})`);
}

describe('the table of error codes and docs/errors.md', () => {
  it('docs/errors.md is what `npm run gen:errors` writes from the table (not stale, not hand-edited)', () => {
    expect(doc === renderErrorsDoc(), 'docs/errors.md is stale: run `npm run gen:errors`').toBe(true);
  });

  it('the table is sorted, one code per line (easy merges)', () => {
    const src = readFileSync(path.join(repoRoot, 'src/core/error-codes.ts'), 'utf8');
    const lines = [...src.matchAll(/^ {2}(E_[A-Z0-9_]+): \{ exit: [012], section: '[a-z-]+', text: '.*' \},$/gm)].map((m) => m[1]!);
    expect(lines).toEqual(Object.keys(ERROR_CODES));
    expect(lines).toEqual([...lines].sort());
  });

  it('each code has an exit status, an anchor and a one-line summary', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(errorDocAnchor(code)).toBe(`docs/errors.md#${code.toLowerCase()}`);
      expect(doc).toContain(`\n### ${code}\n`);
      expect(errorSummary(code).length, code).toBeGreaterThan(15);
      expect(exitStatusOf(code), code).toBe(code === 'E_SMP_HELP' ? 0 : 2);
    }
  });

  it('the scan finds codes in the sources (guards the regexes)', () => {
    const thrown = collect(THROWN, files);
    // Codes the core raises today; if these vanish, the scan (not the code base) is broken.
    for (const c of ['E_BAD_CPULIST', 'E_SYSFS_MISSING', 'E_BAD_JSON']) expect(thrown.has(c), c).toBe(true);
    expect(collect(AS_VALUE, files).has('E_SMP_PRODUCT_MISMATCH')).toBe(true);
  });

  it('every code thrown with new KvcpuError(...) is in the table', () => {
    expect(undocumented(collect(THROWN, files))).toEqual([]);
  });

  it('every code thrown through a fail(...) helper is in the table', () => {
    expect(undocumented(collect(VIA_HELPER, files))).toEqual([]);
  });

  it('every code returned as a value (-smp results, batch lines, QMP classes) is in the table', () => {
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
