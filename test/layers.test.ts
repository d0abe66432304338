/**
 * The layer rule (`core ← io ← capabilities ← app ← surfaces`, scripts/layers.cjs) over the whole
 * of src/, with dependency-cruiser and the repository's own .dependency-cruiser.cjs: any upward
 * import, any folder outside the table, any import cycle fails `npm test`. A planted upward
 * import proves the rule bites; the README's table is the one generated from scripts/layers.cjs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseOptions, type IForbiddenRuleType } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const config = require(path.join(repoRoot, '.dependency-cruiser.cjs')) as { forbidden: IForbiddenRuleType[]; options: ICruiseOptions };
const { layers, layersMarkdown } = require(path.join(repoRoot, 'scripts/layers.cjs')) as {
  layers: { name: string; dirs: string[] }[];
  layersMarkdown: () => string;
};

async function violations(baseDir: string): Promise<{ modules: number; errors: string[] }> {
  const { tsConfig: _ts, ...options } = config.options as ICruiseOptions & { tsConfig?: unknown };
  const r = await cruise(['src'], { ...options, baseDir, ruleSet: { forbidden: config.forbidden }, validate: true });
  const out = r.output as { summary: { totalCruised: number; violations: { rule: { name: string }; from: string; to: string }[] } };
  return { modules: out.summary.totalCruised, errors: out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`) };
}

describe('layers', () => {
  it('src/ has no upward import, no unlayered folder and no cycle', { timeout: 60_000 }, async () => {
    const r = await violations(repoRoot);
    expect(r.errors).toEqual([]);
    // Not an empty pass: the cruise saw the whole tree (≈200 modules today).
    expect(r.modules).toBeGreaterThan(150);
  });

  it('catches an upward import, a stray folder and a cycle planted in a scratch tree', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-layers-'));
    try {
      const put = (rel: string, text: string) => {
        mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        writeFileSync(path.join(dir, rel), text);
      };
      put('src/cli/output.ts', 'export const x = 1;\n');
      put('src/app/report.ts', "export { x } from '../cli/output.ts';\n"); // app → surface
      put('src/host/render-host.ts', "export { x } from '../app/report.ts';\n"); // capability → app
      put('src/core/format.ts', "export { y } from '../io/stream.ts';\n"); // core → io
      put('src/io/stream.ts', "export const y = 2;\nexport { z } from '../misc/z.ts';\n"); // unlayered folder
      put('src/misc/z.ts', 'export const z = 3;\n');
      put('src/plan/a.ts', "export { b } from './b.ts';\nexport const a = 1;\n");
      put('src/plan/b.ts', "export { a } from './a.ts';\nexport const b = 1;\n");
      put('src/host/render-host.test.ts', "export { x } from '../cli/output.ts';\n"); // tests may
      const r = await violations(dir);
      expect(r.errors.sort()).toEqual(
        [
          'no-upward-from-app: src/app/report.ts → src/cli/output.ts',
          'no-upward-from-capabilities: src/host/render-host.ts → src/app/report.ts',
          'no-upward-from-core: src/core/format.ts → src/io/stream.ts',
          'no-unlayered-folder: src/io/stream.ts → src/misc/z.ts',
          'no-circular: src/plan/a.ts → src/plan/b.ts',
        ].sort(),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the README shows the layer table of scripts/layers.cjs', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(layersMarkdown());
    expect(layers.map((l) => l.name)).toEqual(['core', 'io', 'capabilities', 'app', 'surfaces']);
  });
});
