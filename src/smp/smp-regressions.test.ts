// Named regression cases of the -smp differential test against QEMU 7.2 (issue 18), with the
// answers of the live qemu-system-aarch64 / -x86_64 7.2.22.
import { describe, expect, it } from 'vitest';
import { parseSmp } from './parse-smp.ts';
import { firstUnexpectedKey, qdictOrder } from './unknown-key-order.ts';

const err = (spec: string, machine: string) => {
  const r = parseSmp(spec, { machine, accel: 'tcg' });
  return r.ok ? null : r.error.message;
};

describe('-smp regressions from the QEMU 7.2 differential test', () => {
  it('virt-2.6 … virt-2.12 allow 255 CPUs (virt_machine_2_12_options), virt-3.0+ 512', () => {
    expect(err('1,maxcpus=256', 'virt-2.12')).toBe("Invalid SMP CPUs 256. The max CPUs supported by machine 'virt-2.12' is 255");
    expect(err('1,maxcpus=256', 'virt-2.6')).toBe("Invalid SMP CPUs 256. The max CPUs supported by machine 'virt-2.6' is 255");
    // virt-3.0 passes -smp parsing; the default GICv2 then limits it at board init.
    expect(err('1,maxcpus=256', 'virt-3.0')).toBe("Number of SMP CPUs requested (256) exceeds max CPUs supported by machine 'mach-virt' (8)");
  });
  it.each([
    ['4,foo=1,bar=2', 'bar'],
    ['4,bar=2,foo=1', 'bar'],
    ['4,zz=1,aa=2,mm=3', 'aa'],
    ['4,mm=3,aa=2,zz=1', 'aa'],
    ['a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9', 'b'],
  ])('several unknown keys: QEMU names the one first in GLib slot order (%s → %s)', (spec, key) => {
    expect(err(spec, 'pc')).toBe(`Parameter 'smp.${key}' is unexpected`);
  });
  it('QDict order is bucket order, newest first within a bucket', () => {
    expect(qdictOrder(['cpus', 'foo', 'bar']).sort()).toEqual(['bar', 'cpus', 'foo']);
    expect(firstUnexpectedKey(['cpus', 'sockets'], ['cpus', 'sockets'])).toBeNull();
  });
});
