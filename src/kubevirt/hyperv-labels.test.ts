import { describe, expect, it } from 'vitest';
import { hypervCapabilities, type KvmHypervAnswers } from './hyperv-labels.ts';

const none: KvmHypervAnswers['extensions'] = {
  hyperv: 0,
  hypervTime: 0,
  hypervVpIndex: 0,
  hypervTlbflush: 0,
  hypervSendIpi: 0,
  hypervSynic: 0,
  hypervSynic2: 0,
};

describe("KubeVirt's Hyper-V labels (exposeCapabilities)", () => {
  it('nothing offered: no label', () => {
    expect(hypervCapabilities({ extensions: none, msrs: [0x10, 0x1b] })).toEqual([]);
  });
  it("a full KVM: every capability, in KubeVirt's order", () => {
    const all = { hyperv: 1, hypervTime: 1, hypervVpIndex: 1, hypervTlbflush: 1, hypervSendIpi: 1, hypervSynic: 1, hypervSynic2: 1 };
    expect(hypervCapabilities({ extensions: all, msrs: [0x40000002, 0x40000080, 0x40000022, 0x40000003, 0x40000010, 0x400000b0, 0x40000106] })).toEqual([
      'base',
      'time',
      'vpindex',
      'tlbflush',
      'ipi',
      'synic',
      'synic2',
      'frequencies',
      'reset',
      'runtime',
      'synictimer',
      'reenlightenment',
    ]);
  });
  it('the extension answer replaces the MSR one: VP_INDEX listed but no extension → no vpindex; extension without MSR → synic', () => {
    const r = hypervCapabilities({ extensions: { ...none, hypervSynic: 2 }, msrs: [0x40000002, 0x40000022] });
    expect(r).toEqual(['synic', 'frequencies']);
  });
  it('MSR-only capabilities follow the MSR list alone', () => {
    expect(hypervCapabilities({ extensions: { ...none, hyperv: 1 }, msrs: [0x40000003, 0x40000106] })).toEqual(['base', 'reset', 'reenlightenment']);
  });
});
