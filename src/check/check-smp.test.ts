import { describe, expect, it } from 'vitest';
import { checkCpusOnline, checkIrqbalance, checkIsolationCmdline, checkSmpKernel, unameVersion } from './check-smp.ts';
import { makeFacts } from '../../test/fixtures/check/make-facts.ts';

describe('checkSmpKernel (smp.kernel)', () => {
  it('reads uname -v out of /proc/version', () => {
    expect(unameVersion('Linux version 6.18.44-fc (builder@sandboxing) (gcc (GCC) 15.3.0, GNU ld 2.46) #1 SMP PREEMPT_DYNAMIC @0\n')).toBe(
      '#1 SMP PREEMPT_DYNAMIC @0',
    );
  });
  it.each([
    ['SMP', makeFacts(), 'PASS'],
    ['UP kernel on 8 CPUs', makeFacts({ procVersion: 'Linux version 4.19.0 (x@y) (gcc 8) #1 PREEMPT Mon Jan 1 2024' }), 'FAIL'],
    [
      'UP kernel on 1 CPU',
      makeFacts({ procVersion: 'Linux version 4.19.0 (x@y) (gcc 8) #3 Mon Jan 1 2024', host: { cpus: { possible: '0', present: '0', online: '0' } } }),
      'WARN',
    ],
    ['no /proc/version', makeFacts({ procVersion: null }), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    expect(checkSmpKernel(f).status).toBe(status);
  });
});

describe('checkCpusOnline (cpus.online)', () => {
  it('passes when all present CPUs are online', () => {
    expect(checkCpusOnline(makeFacts()).summary).toBe('all 8 present CPUs online (0-7)');
  });
  it('warns with the offline list and chcpu', () => {
    const c = checkCpusOnline(makeFacts({ host: { cpus: { online: '0-5', offline: '6-7,8-255' } } }));
    expect(c.status).toBe('WARN');
    expect(c.summary).toMatch(/2 of 8 present CPUs offline \(6-7\)/);
    expect(c.fix).toMatch(/^chcpu -e 6-7/);
  });
  it('old kernels without present: uses online + offline', () => {
    const c = checkCpusOnline(makeFacts({ host: { cpus: { present: null, possible: null, online: '0-2', offline: '3' } } }));
    expect(c.status).toBe('WARN');
  });
});

describe('checkIrqbalance (irqbalance)', () => {
  it.each([
    ['running', makeFacts(), 'PASS'],
    ['not running', makeFacts({ irqbalancePids: [] }), 'WARN'],
    ['single CPU', makeFacts({ irqbalancePids: [], host: { cpus: { online: '0' } } }), 'SKIP'],
    ['captured tree', makeFacts({ irqbalancePids: null }), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    expect(checkIrqbalance(f).status).toBe(status);
  });
});

describe('checkIsolationCmdline (isolation.cmdline)', () => {
  const iso = (cmdline: string, isolated = '', nohzFull: string | null = null) =>
    checkIsolationCmdline(makeFacts({ cmdline, nohzFull, host: { cpus: { isolated } } }));
  it('passes with no isolation at all', () => {
    expect(iso('ro quiet').status).toBe('PASS');
  });
  it('passes when the three lists agree and the kernel applied them', () => {
    const c = iso('ro isolcpus=managed_irq,domain,2-7 nohz_full=2-7 rcu_nocbs=2-7', '2-7', '2-7');
    expect(c.status).toBe('PASS');
    expect(c.summary).toBe('isolation parameters agree (isolated 2-7; housekeeping CPUs 0-1)');
  });
  it('warns when isolcpus and nohz_full differ, both ways', () => {
    const c = iso('isolcpus=2-7 nohz_full=2-5 rcu_nocbs=2-7', '2-7');
    expect(c.status).toBe('WARN');
    expect(c.evidence.join('\n')).toMatch(/CPUs 6-7 are in isolcpus but not nohz_full/);
    const d = iso('isolcpus=2-3 nohz_full=2-7', '2-3');
    expect(d.evidence.join('\n')).toMatch(/CPUs 4-7 are in nohz_full but not isolcpus/);
    expect(d.fix).toMatch(/isolcpus=managed_irq,domain,2-7 nohz_full=2-7 rcu_nocbs=2-7/);
  });
  it('nohz_full implies rcu_nocbs: a shorter rcu_nocbs is no conflict', () => {
    expect(iso('isolcpus=2-7 nohz_full=2-7 rcu_nocbs=2-3', '2-7').status).toBe('PASS');
  });
  it('warns when isolated CPUs still run RCU callbacks', () => {
    expect(iso('isolcpus=2-7 rcu_nocbs=2-3', '2-7').evidence.join('\n')).toMatch(/4-7 are isolated but not in rcu_nocbs/);
  });
  it('warns when every CPU is isolated, or CPUs do not exist', () => {
    expect(iso('isolcpus=0-7 nohz_full=0-7', '0-7').evidence.join('\n')).toMatch(/no housekeeping CPU/);
    expect(iso('isolcpus=2-9 nohz_full=2-9', '2-7').evidence.join('\n')).toMatch(/CPUs 8-9 do not exist/);
  });
  it('warns when the kernel applied something else than the cmdline says', () => {
    expect(iso('isolcpus=2-7 nohz_full=2-7', '').evidence.join('\n')).toMatch(/kernel applied isolated=/);
  });
  it('warns on irqaffinity pointing at isolated CPUs', () => {
    expect(iso('isolcpus=2-7 nohz_full=2-7 irqaffinity=0-3', '2-7').evidence.join('\n')).toMatch(/irqaffinity=0-3 .* isolated CPUs 2-3/);
  });
  it('understands N (last CPU) and reports unreadable lists', () => {
    expect(iso('isolcpus=2-N nohz_full=2-7', '2-7').status).toBe('PASS');
    expect(iso('isolcpus=two', '').status).toBe('WARN');
  });
  it('ignores init arguments after --', () => {
    expect(iso('ro -- isolcpus=1').status).toBe('PASS');
  });
});
