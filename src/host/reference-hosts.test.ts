/**
 * Acceptance test against the 67 real-machine captures in ../shared/reference/hosts
 * (third-party data: read in place, never copied). Each case's expected.json holds the
 * lscpu/hwloc answer; we compare partitions (packages, cores, L3 domains, NUMA nodes), not
 * numbering, and skip fields the case marks as disputed and null fields (README "Using it in tests").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareWithExpected } from './compare-expected.ts';
import { readHost } from './read-host.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const refDir = path.resolve(repoRoot, '../shared/reference/hosts');
const casesDir = path.join(refDir, 'cases');
const cases = existsSync(casesDir) ? readdirSync(casesDir).sort() : [];

describe.skipIf(cases.length === 0)('reference host captures (../shared/reference/hosts)', () => {
  it('has the 67 cases', () => {
    expect(cases.length).toBe(67);
  });
  for (const id of cases) {
    it(id, () => {
      const dir = path.join(casesDir, id);
      const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8'));
      const snap = readHost({ root: path.join(dir, 'root') });
      expect(snap.perCpu.length).toBeGreaterThan(0);
      expect(compareWithExpected(snap, expected)).toEqual([]);
    });
  }
});

if (cases.length === 0) {
  describe('reference host captures', () => {
    it.skip(`skipped: ${refDir} is absent (the shared reference data lives beside the repository)`, () => {});
  });
}
