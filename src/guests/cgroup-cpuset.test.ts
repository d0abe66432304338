import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpusetManager, parseCpusetMount, readThreadCpuset } from './cgroup-cpuset.ts';

// Trimmed /proc/self/mountinfo of the dev machines (hybrid: v1 cpuset + cgroup2 with hugetlb only).
const HYBRID = `35 25 0:30 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
40 35 0:35 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset
41 35 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct`;
const PURE_V2 = `30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot`;

describe('parseCpusetMount', () => {
  it('finds the v1 cpuset on a hybrid host even though cgroup2 is mounted', () => {
    expect(parseCpusetMount(HYBRID, () => false)).toEqual({ version: 1, mountPoint: '/sys/fs/cgroup/cpuset' });
  });
  it('finds v2 only when cgroup.controllers lists cpuset', () => {
    expect(parseCpusetMount(PURE_V2, (mp) => mp === '/sys/fs/cgroup')).toEqual({ version: 2, mountPoint: '/sys/fs/cgroup' });
    expect(parseCpusetMount(PURE_V2, () => false)).toBeNull();
  });
});

describe('CpusetManager on a fake v1 tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'kvcpu-cg-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const base = join(root, 'sys/fs/cgroup/cpuset');
  mkdirSync(base, { recursive: true });
  writeFileSync(join(base, 'cpuset.cpus'), '0-3\n');
  writeFileSync(join(base, 'cpuset.mems'), '0\n');
  writeFileSync(join(base, 'cpuset.effective_cpus'), '0-3\n');
  mkdirSync(join(root, 'proc/10/task/11'), { recursive: true });
  writeFileSync(join(root, 'proc/10/task/11/cgroup'), '12:memory:/x\n3:cpuset:/\n0::/\n');

  it('reads a thread cpuset from its cgroup file', () => {
    expect(readThreadCpuset(root, { version: 1, mountPoint: '/sys/fs/cgroup/cpuset' }, 10, 11)).toEqual([0, 1, 2, 3]);
  });
  it('writes cpus then mems before tasks, and undo moves back and removes dirs', () => {
    const m = new CpusetManager({ version: 1, mountPoint: '/sys/fs/cgroup/cpuset' }, root);
    // A fake tree has no kernel: pre-create the files mkdir would make, by wrapping place().
    const leaf = join(base, 'kvcpu/g.10/vcpu0');
    m.place('g.10', 'vcpu0', 10, 11, '/', '2');
    expect(readFileSync(join(leaf, 'cpuset.cpus'), 'utf8')).toBe('2');
    expect(readFileSync(join(leaf, 'cpuset.mems'), 'utf8')).toBe('0');
    expect(readFileSync(join(leaf, 'tasks'), 'utf8')).toBe('11');
    expect(m.moves).toEqual([{ pid: 10, tid: 11, from: '/', to: 'kvcpu/g.10/vcpu0', kind: 'thread' }]);
    const errors = m.undo();
    expect(readFileSync(join(base, 'tasks'), 'utf8')).toBe('11');
    // rmdir fails on a plain directory with files in it: the fake tree is not cgroupfs.
    expect(errors.every((e) => e.startsWith('rmdir'))).toBe(true);
  });
});

describe('CpusetManager on a fake v2 tree (threaded subtree)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kvcpu-cg2-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const base = join(root, 'sys/fs/cgroup');
  mkdirSync(join(base, 'machine'), { recursive: true });
  writeFileSync(join(base, 'cgroup.subtree_control'), 'memory\n');

  it('enables cpuset downwards, makes leaves threaded, moves the process then the threads; undo moves the process back', () => {
    const m = new CpusetManager({ version: 2, mountPoint: '/sys/fs/cgroup' }, root);
    m.place('g.10', 'vcpu0', 10, 11, '/machine', '2');
    m.place('g.10', 'vcpu1', 10, 12, '/machine', '3');
    const g = join(base, 'kvcpu/g.10');
    expect(readFileSync(join(base, 'cgroup.subtree_control'), 'utf8')).toBe('+cpuset');
    expect(readFileSync(join(base, 'kvcpu/cgroup.subtree_control'), 'utf8')).toBe('+cpuset');
    expect(readFileSync(join(g, 'cgroup.subtree_control'), 'utf8')).toBe('+cpuset');
    expect(readFileSync(join(g, 'vcpu0/cgroup.type'), 'utf8')).toBe('threaded');
    expect(readFileSync(join(g, 'cgroup.procs'), 'utf8')).toBe('10');
    expect(readFileSync(join(g, 'vcpu1/cgroup.threads'), 'utf8')).toBe('12');
    expect(readFileSync(join(g, 'vcpu1/cpuset.cpus'), 'utf8')).toBe('3');
    expect(m.moves.filter((x) => x.kind === 'process')).toEqual([{ pid: 10, tid: 10, from: '/machine', to: 'kvcpu/g.10', kind: 'process' }]);
    m.undo();
    expect(readFileSync(join(base, 'machine/cgroup.procs'), 'utf8')).toBe('10');
  });
});
