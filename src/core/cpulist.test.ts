import { describe, expect, it } from 'vitest';
import { formatCpulist, hostCpuLimit, MAX_CPUS, parseCpulist, parseCpumask } from './cpulist.ts';

describe('parseCpulist', () => {
  it.each([
    ['', []],
    ['0', [0]],
    ['0-3,8', [0, 1, 2, 3, 8]],
    ['0-6:2', [0, 2, 4, 6]],
    ['3,1,1-2\n', [1, 2, 3]],
  ])('%j', (input, expected) => expect(parseCpulist(input)).toEqual(expected));

  it.each(['a', '3-1', '1,,2', '-1', '1-'])('rejects %j with E_BAD_CPULIST', (input) => {
    expect(() => parseCpulist(input)).toThrow(expect.objectContaining({ code: 'E_BAD_CPULIST' }));
  });
});

describe('formatCpulist', () => {
  it.each([
    [[], ''],
    [[0, 1], '0-1'],
    [[3, 0, 1, 2, 8, 8], '0-3,8'],
    [[1, 3, 5], '1,3,5'],
  ])('%j', (input, expected) => expect(formatCpulist(input)).toBe(expected));
});

describe('parseCpumask', () => {
  it.each([
    ['00000003', [0, 1]],
    ['f0', [4, 5, 6, 7]],
    ['00000001,00000000', [32]],
    ['00000000,00000000', []],
  ])('%j', (input, expected) => expect(parseCpumask(input)).toEqual(expected));
});

// Issue 15: a CPU number past 2^53 made `i += 1` a no-op, so the range loop never ended.
describe('CPU numbers are bounded (E_CPULIST_RANGE)', () => {
  it('parseCpulist("99999999999999999999999") is refused at once, not a hang', () => {
    const t0 = performance.now();
    expect(() => parseCpulist('99999999999999999999999')).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE' }));
    expect(performance.now() - t0).toBeLessThan(50);
  });
  it('0-4294967295 is refused without building a 4-billion-element array', () => {
    expect(() => parseCpulist('0-4294967295')).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE' }));
  });
  it('the documented maximum is 8,192 CPUs (0-8191)', () => {
    expect(MAX_CPUS).toBe(8192);
    expect(parseCpulist('0-8191')).toHaveLength(8192);
    expect(() => parseCpulist('8192')).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE', details: { limit: 8192 } }));
    expect(() => parseCpulist('0-3:99999999999999999999')).not.toThrow();
    expect(parseCpulist('0-3:99999999999999999999')).toEqual([0]);
  });
  it('a caller-given limit (a host kernel_max) bounds the list', () => {
    expect(parseCpulist('0-7', { limit: 8 })).toHaveLength(8);
    expect(() => parseCpulist('0-8', { limit: 8 })).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE' }));
  });
  it('8,192 repeated full ranges stay bounded work', () => {
    const text = Array.from({ length: 8192 }, () => '0-8191').join(',');
    const t0 = performance.now();
    expect(parseCpulist(text)).toHaveLength(8192);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
  it('a mask with a bit at or above the limit is refused; zero padding words are fine', () => {
    expect(parseCpumask('00000000,'.repeat(1000) + '0000000f')).toEqual([0, 1, 2, 3]);
    expect(() => parseCpumask('1' + '0'.repeat(2048))).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE' }));
    expect(() => parseCpumask('100', { limit: 8 })).toThrow(expect.objectContaining({ code: 'E_CPULIST_RANGE' }));
  });
  it('hostCpuLimit is kernel_max + 1, MAX_CPUS when absent or absurd', () => {
    expect(hostCpuLimit('8191')).toBe(8192);
    expect(hostCpuLimit('63\n')).toBe(64);
    expect(hostCpuLimit(null)).toBe(MAX_CPUS);
    expect(hostCpuLimit('99999999999999999999999')).toBe(MAX_CPUS);
    expect(hostCpuLimit('-1')).toBe(MAX_CPUS);
  });
  it('a long out-of-range number is shortened in the message', () => {
    try {
      parseCpulist('9'.repeat(5000));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(300);
    }
  });
});
