import { describe, expect, it } from 'vitest';
import { checkKvmDevice, checkKvmModule, checkKvmNested, checkKvmPermissions, checkKvmUsable, checkKvmVcpuLimits, errnoName } from './check-kvm.ts';
import { kvmNode, makeFacts, missingNode, pvmGuestFacts, workingProbe } from '../../test/fixtures/check/make-facts.ts';

describe('checkKvmModule (kvm.module)', () => {
  it.each([
    ['kvm + kvm_intel', makeFacts(), 'PASS', /kvm, kvm_intel loaded/],
    ['nothing loaded', makeFacts({ modules: {} }), 'FAIL', /not loaded/],
    ['core without vendor module', makeFacts({ modules: { kvm: { builtin: false, params: {} } } }), 'FAIL', /no vendor module \(kvm_intel\)/],
    ['loaded but device never registered (PVM guest)', pvmGuestFacts(), 'WARN', /none registered/],
    ['not captured', makeFacts({ modules: null, live: false }), 'SKIP', /not captured/],
  ])('%s -> %s', (_n, f, status, summary) => {
    const c = checkKvmModule(f);
    expect(c.status).toBe(status);
    expect(c.summary).toMatch(summary);
  });

  it('suggests the vendor module by CPU and notes nomodule', () => {
    const amd = checkKvmModule(makeFacts({ host: { vendor: 'AuthenticAMD', hwVirtualization: 'svm' }, modules: {} }));
    expect(amd.fix).toMatch(/modprobe kvm_amd/);
    const intel = checkKvmModule(makeFacts({ modules: {}, cmdline: 'ro nomodule' }));
    expect(intel.fix).toMatch(/modprobe kvm_intel/);
    expect(intel.fix).toMatch(/nomodule/);
  });
});

describe('checkKvmNested (kvm.nested)', () => {
  it.each([
    ['nested=Y', makeFacts(), 'PASS'],
    ['nested=N', makeFacts({ modules: { kvm: { builtin: false, params: {} }, kvm_intel: { builtin: false, params: { nested: 'N' } } } }), 'WARN'],
    ['kvm_amd nested=1', makeFacts({ modules: { kvm: { builtin: false, params: {} }, kvm_amd: { builtin: false, params: { nested: '1' } } } }), 'PASS'],
    ['kvm_pvm only', pvmGuestFacts(), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    const c = checkKvmNested(f);
    expect(c.status).toBe(status);
    if (status === 'WARN') expect(c.fix).toMatch(/options kvm_intel nested=1/);
  });
});

describe('checkKvmDevice (kvm.device)', () => {
  it('passes the real 10:232 node', () => {
    expect(checkKvmDevice(makeFacts()).status).toBe('PASS');
  });
  it('fails a node with the wrong numbers and says how to recreate it', () => {
    const c = checkKvmDevice(makeFacts({ kvmDevice: kvmNode({ minor: 233 }) }));
    expect(c.status).toBe('FAIL');
    expect(c.fix).toMatch(/mknod \/dev\/kvm c 10 232/);
  });
  it('suggests mknod when the module registered the device but the node is missing', () => {
    const c = checkKvmDevice(makeFacts({ kvmDevice: missingNode(), miscKvm: true }));
    expect(c.status).toBe('FAIL');
    expect(c.fix).toMatch(/^mknod \/dev\/kvm c 10 232/);
  });
  it('suggests modprobe when no module is loaded', () => {
    const c = checkKvmDevice(makeFacts({ kvmDevice: missingNode(), miscKvm: false, modules: {} }));
    expect(c.status).toBe('FAIL');
    expect(c.fix).toMatch(/modprobe kvm_intel/);
  });
  it('explains the PVM-guest case honestly (no mknod advice)', () => {
    const c = checkKvmDevice(pvmGuestFacts());
    expect(c.status).toBe('FAIL');
    expect(c.summary).toMatch(/itself a kvm-pvm guest/);
    expect(c.evidence.join('\n')).toMatch(/kvm-pvm: this kernel is itself a kvm-pvm guest; not binding/);
    expect(c.evidence.join('\n')).toMatch(/\/proc\/misc: no "232 kvm"/);
    expect(c.fix).toMatch(/would not help/);
    expect(c.fix).toMatch(/-accel tcg/);
  });
  it('skips on captured trees', () => {
    expect(checkKvmDevice(makeFacts({ live: false, kvmDevice: null })).status).toBe('SKIP');
  });
});

describe('checkKvmPermissions (kvm.permissions)', () => {
  it.each([
    ['root, root:kvm 0660', makeFacts(), 'PASS'],
    ['user in group kvm', makeFacts({ user: { uid: 1000, name: 'alice', gids: [104], deviceGroupMembers: ['alice'] } }), 'PASS'],
    [
      'user not in group',
      makeFacts({ user: { uid: 1000, name: 'bob', gids: [1000], deviceGroupMembers: ['alice'] }, kvmDevice: kvmNode({ accessible: false }) }),
      'FAIL',
    ],
    ['root only (0600 root:root)', makeFacts({ kvmDevice: kvmNode({ mode: 0o600, gid: 0, group: 'root' }) }), 'WARN'],
    ['root, 0660 but group disk', makeFacts({ kvmDevice: kvmNode({ gid: 6, group: 'disk' }) }), 'WARN'],
    ['root, 0666', makeFacts({ kvmDevice: kvmNode({ mode: 0o666, gid: 0, group: 'root' }) }), 'PASS'],
    ['no device', makeFacts({ kvmDevice: missingNode() }), 'SKIP'],
  ])('%s -> %s', (_n, f, status) => {
    expect(checkKvmPermissions(f).status).toBe(status);
  });
  it('tells the user to join the group', () => {
    const c = checkKvmPermissions(
      makeFacts({ user: { uid: 1000, name: 'bob', gids: [1000], deviceGroupMembers: [] }, kvmDevice: kvmNode({ accessible: false }) }),
    );
    expect(c.fix).toBe('usermod -aG kvm bob (then log out and back in)');
  });
});

describe('checkKvmUsable (kvm.usable)', () => {
  it('passes when a VM was created', () => {
    const c = checkKvmUsable(makeFacts());
    expect(c.status).toBe('PASS');
    expect(c.evidence).toContain('KVM_CREATE_VM: ok');
    expect(c.evidence).toContain('KVM_CREATE_VCPU: ok');
  });
  it('passes with a note under nested PVM (no vmx/svm flag)', () => {
    const f = pvmGuestFacts();
    f.kvmDevice = kvmNode();
    f.miscKvm = true;
    f.probe = workingProbe({ nrVcpus: 2 });
    const c = checkKvmUsable(f);
    expect(c.status).toBe('PASS');
    expect(c.summary).toMatch(/kvm-ok\/virt-host-validate wrongly say no/);
    expect(c.evidence.join('\n')).toMatch(/kvm_pvm/);
  });
  it('fails on this CI machine (PVM guest, /dev/kvm absent) with the dmesg evidence', () => {
    const c = checkKvmUsable(pvmGuestFacts());
    expect(c.status).toBe('FAIL');
    expect(c.evidence.join('\n')).toMatch(/ENOENT/);
    expect(c.evidence.join('\n')).toMatch(/kvm_pvm/);
    expect(c.evidence.join('\n')).toMatch(/itself a kvm-pvm guest/);
    expect(c.fix).toMatch(/cannot be enabled inside this VM/);
  });
  it.each([
    [
      'permission denied',
      workingProbe({ usable: false, openErrno: 13, openError: 'Permission denied', apiVersion: undefined, createErrno: undefined, vcpuErrno: undefined }),
      /permission denied/,
      /usermod -aG kvm/,
    ],
    ['wrong API version', workingProbe({ usable: false, apiVersion: 11 }), /API version 11/, /kernel/],
    [
      'KVM_CREATE_VM EBUSY',
      workingProbe({ usable: false, createErrno: 16, createError: 'Device or resource busy', vcpuErrno: undefined }),
      /KVM_CREATE_VM failed \(EBUSY\)/,
      /VirtualBox/,
    ],
    ['KVM_CREATE_VCPU fails', workingProbe({ usable: false, vcpuErrno: 22, vcpuError: 'Invalid argument' }), /KVM_CREATE_VCPU failed \(EINVAL\)/, /dmesg/],
  ])('fails: %s', (_n, probe, summary, fix) => {
    const c = checkKvmUsable(makeFacts({ probe }));
    expect(c.status).toBe('FAIL');
    expect(c.summary).toMatch(summary);
    expect(c.fix).toMatch(fix);
  });
  it('QEMU fallback verdicts', () => {
    const ok = checkKvmUsable(
      makeFacts({
        probe: { method: 'qemu', usable: true, path: '/dev/kvm', qemuBinary: 'qemu-system-x86_64', qemuOutput: 'query-kvm: enabled=true present=true' },
      }),
    );
    expect(ok.status).toBe('PASS');
    expect(ok.summary).toMatch(/QEMU started with -accel kvm/);
    const bad = checkKvmUsable(
      makeFacts({ probe: { method: 'qemu', usable: false, path: '/dev/kvm', qemuOutput: 'failed to initialize kvm: Operation not supported' } }),
    );
    expect(bad.status).toBe('FAIL');
    expect(bad.evidence.join('\n')).toMatch(/failed to initialize kvm/);
  });
  it('skips when nothing can probe, and on captured trees', () => {
    expect(checkKvmUsable(makeFacts({ probe: { method: 'none', usable: null, path: '/dev/kvm', note: 'no addon, no qemu' } })).status).toBe('SKIP');
    expect(checkKvmUsable(makeFacts({ live: false, probe: null })).status).toBe('SKIP');
  });
});

describe('checkKvmVcpuLimits (kvm.vcpu_limits)', () => {
  it('reports recommended and max', () => {
    const c = checkKvmVcpuLimits(makeFacts({ probe: workingProbe({ nrVcpus: 2, maxVcpus: 1024 }) }));
    expect(c.status).toBe('PASS');
    expect(c.summary).toBe('recommended max 2 vCPUs per guest, hard max 1024');
  });
  it('uses NR_VCPUS as max when MAX_VCPUS is 0 (old kernels)', () => {
    expect(checkKvmVcpuLimits(makeFacts({ probe: workingProbe({ nrVcpus: 16, maxVcpus: 0 }) })).summary).toMatch(/hard max 16/);
  });
  it('skips without the native numbers or a working KVM', () => {
    expect(checkKvmVcpuLimits(makeFacts({ probe: { method: 'qemu', usable: true, path: '/dev/kvm' } })).status).toBe('SKIP');
    expect(checkKvmVcpuLimits(pvmGuestFacts()).status).toBe('SKIP');
  });
});

it('errnoName', () => {
  expect(errnoName(2)).toBe('ENOENT');
  expect(errnoName(13)).toBe('EACCES');
});
