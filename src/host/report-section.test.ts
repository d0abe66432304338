import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectHostSection } from './report-section.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('collectHostSection', () => {
  it('returns the host snapshot and its lscpu-like text', async () => {
    const root = path.join(repoRoot, 'test/fixtures/hosts/old-kernel-hexmask-2s2c2t');
    const s = await collectHostSection({ root, live: false, color: false });
    expect(s).toMatchObject({ id: 'host', status: 'ok' });
    expect((s.data as { topology: { sockets: number } }).topology.sockets).toBe(2);
    expect(s.text).toMatch(/^Socket\(s\):\s+2$/m);
    expect(s.text).toMatch(/^CPU\s+NODE\s+SOCKET/m);
  });

  it('throws the reader error for a broken root (the report turns it into a skipped section)', async () => {
    await expect(collectHostSection({ root: '/nonexistent-kvcpu-root', live: false, color: false })).rejects.toMatchObject({ code: 'E_SYSFS_MISSING' });
  });
});
