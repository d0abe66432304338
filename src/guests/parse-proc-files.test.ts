import { describe, expect, it } from 'vitest';
import { parseProcStat, parseProcStatus, parseSchedCounters, parseSchedMigrations, parseSchedstat } from './parse-proc-files.ts';
import { classifyThread } from './classify-thread.ts';

// A real TCG vCPU stat line (comm with a space and a slash), fields 3..52.
const VCPU_STAT =
  '19214 (CPU 1/TCG) R 1 19210 19210 0 -1 4194368 17 0 0 0 2911 5 0 0 20 0 5 0 2208661 1125576704 6126 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 -1 1 0 0 0 0 0 0 0 0 0 0 0 0 0';

describe('parseProcStat', () => {
  it('counts fields after the last ")" (comm has spaces)', () => {
    const s = parseProcStat(VCPU_STAT)!;
    expect(s.comm).toBe('CPU 1/TCG');
    expect(s.state).toBe('R');
    expect(s.utime + s.stime).toBe(2916);
    expect(s.startTime).toBe(2208661);
    expect(s.psr).toBe(1);
  });
  it('survives a comm containing ") ("', () => {
    const s = parseProcStat(VCPU_STAT.replace('(CPU 1/TCG)', '(a) (b)'))!;
    expect(s.comm).toBe('a) (b');
    expect(s.psr).toBe(1);
  });
});

describe('status / schedstat / sched', () => {
  it('parses the fields', () => {
    expect(parseProcStatus('Name:\tx\nCpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n')).toEqual({
      cpusAllowedList: '0-1',
      voluntarySwitches: 12,
      involuntarySwitches: 3,
    });
    expect(parseSchedstat('123 456 7\n')).toEqual({ runNs: 123, waitNs: 456 });
    expect(parseSchedMigrations('CPU 0/TCG (1, #threads: 5)\n---\nse.exec_start : 1.0\nse.nr_migrations :  42\n')).toBe(42);
    expect(parseSchedMigrations('nothing')).toBeNull();
  });
  it('takes migrations and switch counts from sched (the same counters as status)', () => {
    const text =
      'CPU 0/TCG (1, #threads: 5)\n---\nse.nr_migrations                             :                   42\nnr_switches : 20\nnr_voluntary_switches                        :                   17\nnr_involuntary_switches :3\n';
    expect(parseSchedCounters(text)).toEqual({ migrations: 42, voluntarySwitches: 17, involuntarySwitches: 3 });
    // a name inside another line does not count; a missing counter is null
    expect(parseSchedCounters('x nr_voluntary_switches : 9\nse.nr_migrations : 1\n')).toEqual({
      migrations: 1,
      voluntarySwitches: null,
      involuntarySwitches: null,
    });
  });
});

describe('classifyThread', () => {
  const ctx = { pid: 100, vcpuTids: new Map<number, number>(), vcpuSource: 'thread-names' as const };
  it.each([
    [101, 'CPU 3/KVM', 'vcpu', 3],
    [101, 'CPU 0/TCG', 'vcpu', 0],
    [101, 'ALL CPUs/TCG', 'vcpu', null],
    [101, 'IO iot0', 'iothread', null],
    [101, 'IO mon_iothread', 'emulator', null],
    [101, 'vhost-100', 'vhost', null],
    [101, 'kvm-nx-lpage-re', 'other', null],
    [100, 'qemu-system-x86', 'emulator', null],
    [101, 'call_rcu', 'emulator', null],
  ])('%i %s -> %s', (tid, comm, role, vcpu) => {
    const c = classifyThread(tid, comm, ctx);
    expect(c.role).toBe(role);
    expect(c.vcpu).toBe(vcpu);
  });
  it('uses QMP/libvirt TIDs when threads are unnamed, and says "other" when nothing is known', () => {
    expect(classifyThread(105, 'qemu-system-x86', { pid: 100, vcpuTids: new Map([[105, 2]]), vcpuSource: 'qmp' })).toMatchObject({ role: 'vcpu', vcpu: 2 });
    expect(classifyThread(106, 'qemu-system-x86', { pid: 100, vcpuTids: new Map(), vcpuSource: 'none' }).role).toBe('other');
  });
});
