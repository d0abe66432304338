import { describe, expect, it } from 'vitest';
import { formatCpulist, parseCpulist, parseCpumask } from './cpulist.ts';

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
