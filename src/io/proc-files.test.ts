import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadNative } from './native.ts';
import { ProcFiles } from './proc-files.ts';

// Live /proc (Linux): what the agent relies on when it keeps descriptors open between samples.
const allowedOf = (text: string) => /Cpus_allowed_list:\s*(\S+)/.exec(text)?.[1];

describe('ProcFiles (descriptors kept open between passes)', () => {
  it('re-reads the current text through a kept descriptor, and a dead task is an error, never its old text', async (ctx) => {
    const native = loadNative();
    if (!native) ctx.skip(); // the native addon changes the affinity below
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pid = child.pid!;
    const files = new ProcFiles();
    try {
      files.beginPass();
      const path = `/proc/${pid}/task/${pid}/status`;
      const before = allowedOf(files.read(path));
      expect(files.openCount()).toBe(1);
      native!.affinitySet(pid, [0]);
      files.beginPass();
      expect(allowedOf(files.read(path))).toBe('0'); // regenerated, not the first text
      expect(before).not.toBe('0');
      expect(files.openCount()).toBe(1); // the same descriptor
      child.kill('SIGKILL');
      await exited;
      files.beginPass();
      let err: unknown = null;
      try {
        files.read(path);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string } | null)?.code).toMatch(/^(ENOENT|ESRCH)$/);
      expect(files.openCount()).toBe(0);
    } finally {
      child.kill('SIGKILL');
      files.closeAll();
    }
  });

  it('closes what a pass did not use, and stays within its descriptor budget', () => {
    const files = new ProcFiles(2);
    files.beginPass();
    for (const f of ['stat', 'status', 'schedstat']) expect(files.read(`/proc/self/${f}`).length).toBeGreaterThan(0);
    expect(files.openCount()).toBe(2); // the third was opened and closed
    files.endPass();
    expect(files.openCount()).toBe(2);
    files.beginPass();
    files.read('/proc/self/stat');
    files.endPass();
    expect(files.openCount()).toBe(1);
    files.closeAll();
    expect(files.openCount()).toBe(0);
  });
});
