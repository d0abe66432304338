import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectGuestsSection, collectOvercommitSection } from './report-section.ts';

describe('report sections', () => {
  it('describe the live host (guests may or may not run)', async () => {
    const g = await collectGuestsSection({ root: '/', live: true, color: false });
    expect(g.id).toBe('guests');
    expect(g.status).toBe('ok');
    expect(Array.isArray((g.data as { guests: unknown[] }).guests)).toBe(true);
    const o = await collectOvercommitSection({ root: '/', live: true, color: false });
    expect(o.id).toBe('overcommit');
    expect((o.data as { hostCpus: number }).hostCpus).toBeGreaterThan(0);
    expect(o.text).toMatch(/Verdict:/);
    expect(['ok', 'findings']).toContain(o.status);
  });
  it('are skipped for a captured tree without /proc', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kvcpu-rs-'));
    try {
      expect((await collectGuestsSection({ root, live: false, color: false })).status).toBe('skipped');
      expect((await collectOvercommitSection({ root, live: false, color: false })).status).toBe('skipped');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
