import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_LOG_PATTERN, readKernelLog } from './read-kernel-log.ts';

describe('readKernelLog', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kvcpu-kmsg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps KVM / VT / IOMMU records, drops kvm-clock and the rest', () => {
    const file = path.join(dir, 'kmsg');
    writeFileSync(
      file,
      [
        '6,1,0,-;Hypervisor detected: PVM',
        '6,2,10,-;kvm-clock: Using msrs 4b564d01 and 4b564d00',
        '6,3,20,-;clocksource: Switched to clocksource kvm-clock',
        '4,4,30,-;kvm-pvm: this kernel is itself a kvm-pvm guest; not binding',
        ' SUBSYSTEM=kvm',
        '3,5,40,-;kvm: disabled by bios',
        '6,6,50,-;DMAR: IOMMU enabled',
        '6,7,60,-;x86/cpu: VMX (outside TXT) disabled by BIOS',
        '',
      ].join('\n'),
    );
    expect(readKernelLog(KERNEL_LOG_PATTERN, file)).toEqual([
      'Hypervisor detected: PVM',
      'kvm-pvm: this kernel is itself a kvm-pvm guest; not binding',
      'kvm: disabled by bios',
      'DMAR: IOMMU enabled',
      'x86/cpu: VMX (outside TXT) disabled by BIOS',
    ]);
  });

  it('returns null when the log cannot be opened', () => {
    expect(readKernelLog(KERNEL_LOG_PATTERN, path.join(dir, 'missing'))).toBeNull();
  });
});
