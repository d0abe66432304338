import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseGuestLog, summarizeGuestTopology } from '../linux-guest.ts';
import { buildCpio, buildInitramfs } from './cpio.ts';

const entries = [
  { type: 'dir' as const, name: 'bin' },
  { type: 'chardev' as const, name: 'dev/console', major: 5, minor: 1 },
  { type: 'file' as const, name: 'init', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { type: 'symlink' as const, name: 'bin/sh', target: 'busybox' },
  { type: 'file' as const, name: 'bin/odd', data: Buffer.from([1, 2, 3]) },
];

describe('newc cpio writer', () => {
  it('writes 4-byte aligned newc records ending with TRAILER!!!', () => {
    const buf = buildCpio(entries);
    expect(buf.length % 4).toBe(0);
    const text = buf.toString('latin1');
    expect(text.startsWith('070701')).toBe(true);
    expect(text.split('070701').length - 1).toBe(entries.length + 1);
    expect(text).toContain('TRAILER!!!\0');
    // The chardev record carries rdevmajor 5 / rdevminor 1 (fields 10 and 11).
    const at = text.indexOf('dev/console') - 110;
    expect(text.slice(at + 6 + 8 * 9, at + 6 + 8 * 11)).toBe('0000000500000001');
  });
  it.skipIf(spawnSync('sh', ['-c', 'command -v cpio']).status !== 0)('GNU cpio lists and reads it back', () => {
    const input = gunzipSync(buildInitramfs(entries));
    const names = spawnSync('cpio', ['-it', '--quiet'], { input, encoding: 'utf8' });
    expect(names.status).toBe(0);
    expect(names.stdout.trim().split('\n')).toEqual(['bin', 'dev/console', 'init', 'bin/sh', 'bin/odd']);
    const r = spawnSync('cpio', ['-itv', '--quiet'], { input, encoding: 'utf8' });
    const lines = r.stdout.trim().split('\n');
    expect(lines[3]).toMatch(/bin\/sh -> busybox$/);
    expect(lines[2]).toMatch(/^-rwxr-xr-x .* 18 /);
    expect(lines[1]).toMatch(/^crw-------/);
  });
});

describe('guest serial log parser', () => {
  const log = [
    '[    4.79] Run /init as init process',
    'GUEST-CPU cpu0 pkg=0 die=0 cluster=0 core=0 sib=0-1 online=1',
    'GUEST-CPU cpu2 pkg=0 die=0 cluster=2 core=1 sib=2-3 online=1',
    'GUEST-CPU cpu1 pkg=0 die=0 cluster=0 core=0 sib=0-1 online=1',
    'GUEST-CPU cpu3 pkg=0 die=0 cluster=2 core=1 sib=2-3 online=1',
    'GUEST-CPU cpu4 online=0',
    'GUEST-NODE node0 cpus=0-3',
    'GUEST-ONLINE 0-3',
    'GUEST-PRESENT 0-4',
    'GUEST-POSSIBLE 0-7',
    'GUEST-FLAGS  fpu de pse ht',
    'GUEST-MODEL  QEMU Virtual CPU version 2.5+',
    'GUEST-DONE',
    '[    6.80] reboot: Power down',
  ].join('\r\n');
  it('reads every line kind and sorts CPUs', () => {
    const r = parseGuestLog(log);
    expect(r.cpus.map((c) => c.cpu)).toEqual([0, 1, 2, 3, 4]);
    expect(r.cpus[2]).toEqual({ cpu: 2, online: true, pkg: 0, die: 0, cluster: 2, core: 1, siblings: '2-3' });
    expect(r.cpus[4]).toMatchObject({ cpu: 4, online: false, pkg: -1 });
    expect([r.online, r.present, r.possible]).toEqual(['0-3', '0-4', '0-7']);
    expect(r.nodes).toEqual([{ node: 0, cpus: '0-3' }]);
    expect(r.flags).toEqual(['fpu', 'de', 'pse', 'ht']);
    expect(r.modelName).toBe('QEMU Virtual CPU version 2.5+');
  });
  it('counts what the guest sees (online CPUs only)', () => {
    expect(summarizeGuestTopology(parseGuestLog(log).cpus)).toEqual({ sockets: 1, diesPerSocket: 1, coresPerDie: 2, threadsPerCore: 2, cpus: 4 });
  });
});
