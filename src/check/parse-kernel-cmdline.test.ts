import { describe, expect, it } from 'vitest';
import { lastParam, parseKernelCmdline, readCmdlineCpus } from './parse-kernel-cmdline.ts';

describe('parseKernelCmdline', () => {
  it('splits, honours quotes, stops at --, normalises dashes', () => {
    const c = parseKernelCmdline('BOOT_IMAGE=/vmlinuz ro quiet dyndbg="file foo.c +p" intel-iommu=on tsc=reliable tsc=unstable -- isolcpus=1');
    expect(lastParam(c, 'dyndbg')).toBe('file foo.c +p');
    expect(lastParam(c, 'intel_iommu')).toBe('on');
    expect(c.params.get('tsc')).toEqual(['reliable', 'unstable']);
    expect(lastParam(c, 'tsc')).toBe('unstable');
    expect(c.params.has('quiet')).toBe(true);
    expect(lastParam(c, 'isolcpus')).toBeNull();
  });
});

describe('readCmdlineCpus', () => {
  it('isolcpus flags', () => {
    expect(readCmdlineCpus('nohz,domain,managed_irq,2-5,7', { isolcpus: true })).toEqual({
      raw: 'nohz,domain,managed_irq,2-5,7',
      flags: ['nohz', 'domain', 'managed_irq'],
      cpus: [2, 3, 4, 5, 7],
      error: null,
    });
  });
  it('N = last CPU', () => {
    expect(readCmdlineCpus('1-N', { lastCpu: 3 }).cpus).toEqual([1, 2, 3]);
    expect(readCmdlineCpus('1-N').error).toMatch(/CPU count is unknown/);
  });
  it('bad lists carry an error', () => {
    expect(readCmdlineCpus('x').cpus).toBeNull();
  });
});
