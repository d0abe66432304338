import { describe, expect, it } from 'vitest';
import { checkSriov, checkVmdq, pciClassName } from './check-vtc.ts';
import { makeFacts } from '../../test/fixtures/check/make-facts.ts';
import type { PciFunctionFacts } from './types.ts';

const pf = (bdf: string, over: Partial<PciFunctionFacts> = {}): PciFunctionFacts => ({
  bdf,
  vendor: '0x8086',
  device: '0x1572',
  class: '0x020000',
  totalVfs: 64,
  numVfs: 0,
  driver: 'i40e',
  numaNode: '0',
  netdevs: ['enp1s0f0'],
  ...over,
});

describe('checkSriov (sriov)', () => {
  it('lists PFs with their VF counts', () => {
    const c = checkSriov(makeFacts({ sriov: [pf('0000:01:00.0'), pf('0000:01:00.1', { numVfs: 8 })] }));
    expect(c.status).toBe('PASS');
    expect(c.summary).toBe('2 SR-IOV physical function(s), up to 128 VFs, 8 enabled');
    expect(c.evidence[0]).toBe('0000:01:00.0 8086:1572 Ethernet controller enp1s0f0 driver i40e node 0: sriov_totalvfs=64 sriov_numvfs=0');
  });
  it('warns when VFs exist but no IOMMU is active', () => {
    const f = makeFacts({ sriov: [pf('0000:01:00.0')] });
    f.iommu = { ...f.iommu, classDevices: [] };
    expect(checkSriov(f).status).toBe('WARN');
  });
  it('skips without SR-IOV hardware or PCI data', () => {
    expect(checkSriov(makeFacts({ sriov: [] })).status).toBe('SKIP');
    expect(checkSriov(makeFacts({ sriov: null })).status).toBe('SKIP');
  });
  it('names PCI classes', () => {
    expect(pciClassName('0x020000')).toBe('Ethernet controller');
    expect(pciClassName('0x030200')).toBe('3D controller');
    expect(pciClassName('0x0c0330')).toBe('class 0x0c0330');
  });
});

describe('checkVmdq (vmdq)', () => {
  it('passes for an ixgbe NIC', () => {
    const c = checkVmdq(
      makeFacts({
        net: [
          { name: 'eth2', pci: '0000:03:00.0', driver: 'ixgbe', rxQueues: 64, txQueues: 64 },
          { name: 'lo', pci: null, driver: null, rxQueues: 1, txQueues: 1 },
        ],
      }),
    );
    expect(c.status).toBe('PASS');
    expect(c.summary).toMatch(/eth2 \(ixgbe, 64 rx queues\)/);
  });
  it('skips for virtio NICs and when not captured', () => {
    expect(checkVmdq(makeFacts({ net: [{ name: 'eth0', pci: '0000:00:03.0', driver: 'virtio_net', rxQueues: 2, txQueues: 2 }] })).summary).toMatch(
      /virtio_net/,
    );
    expect(checkVmdq(makeFacts({ net: null })).status).toBe('SKIP');
  });
});
