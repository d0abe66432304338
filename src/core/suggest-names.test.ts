import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, suggestNames } from './suggest-names.ts';

const MODELS = [
  'EPYC',
  'EPYC-IBPB',
  'EPYC-Rome',
  'EPYC-Rome-v1',
  'EPYC-Rome-v2',
  'Skylake-Server-v5',
  'Skylake-Server',
  'Skylake-Client-v1',
  'Skylake-Client',
  'Opteron_G5',
  'qemu64',
  'kvm64',
];

describe('suggestNames: one nearest-name ranking', () => {
  it.each([
    ['epyc', ['EPYC']], // case only: the answer alone
    ['opteron-g5', ['Opteron_G5']], // _ and - alike
    ['Skylake', ['Skylake-Client', 'Skylake-Server', 'Skylake-Client-v1']], // prefix, shortest and natural order first
    ['rome', ['EPYC-Rome', 'EPYC-Rome-v1', 'EPYC-Rome-v2']], // contained
    ['qemu46', ['qemu64']], // edit distance 2
    ['kvm64x', ['kvm64']],
    ['haswell', []], // nothing near
  ])('%s -> %j', (input, want) => {
    expect(suggestNames(input, MODELS)).toEqual(want);
  });
  it('aliases win over edit distance, and max bounds the list', () => {
    expect(suggestNames('sse4_2', ['sse4.2', 'sse4a', 'sse2'], { aliases: { sse4_2: 'sse4.2' } })).toEqual(['sse4.2']);
    expect(suggestNames('EPYC-', MODELS, { max: 2 })).toEqual(['EPYC-IBPB', 'EPYC-Rome']);
  });
  it('didYouMean phrases one or several names, or nothing', () => {
    expect(didYouMean('epyc', MODELS)).toBe("did you mean 'EPYC'?");
    expect(didYouMean('Skylake', MODELS)).toBe("did you mean 'Skylake-Client', 'Skylake-Server' or 'Skylake-Client-v1'?");
    expect(didYouMean('zzzz', MODELS)).toBeNull();
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
