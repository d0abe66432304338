import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPinRequests } from './build-pin-requests.ts';
import { guest, thread } from './fixtures.test-helpers.ts';
import { isLibvirtGone, virshCommands, type LibvirtPin } from './libvirt-pins.ts';
import { loadPinState, savePinState, type PinState } from './pin-state.ts';

// The libvirt path itself runs against a real libvirtd in test/e2e/libvirt.test.ts; these are
// the pure parts: which virsh commands a request becomes, and how saved state merges.
const dir = mkdtempSync(join(tmpdir(), 'kvcpu-lvstate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function libvirtGuest() {
  const g = { ...guest(500, 'db1', 2), libvirt: true };
  g.threads.push(thread({ tid: 520, comm: 'IO iothread1', role: 'iothread', iothread: 'iothread1' }));
  return g;
}

describe('libvirt pins', () => {
  it('one virsh call per vCPU / IOThread and one emulatorpin per domain; IOThreads by libvirt number', () => {
    const g = libvirtGuest();
    // virsh-style numeric IOThread id on a libvirt guest resolves to the iothread1 object.
    const reqs = buildPinRequests(g, {
      vcpus: new Map([
        [0, [2]],
        [1, [3]],
      ]),
      emulator: [0, 1],
      iothreads: new Map([['1', [1]]]),
    });
    expect(reqs.find((r) => r.role === 'iothread')).toMatchObject({ tid: 520, iothread: 'iothread1' });
    const cmds = virshCommands(new Map([[g.pid, g]]), reqs, true).map((a) => a.join(' '));
    expect(cmds).toEqual([
      'vcpupin db1 0 2 --live --config',
      'vcpupin db1 1 3 --live --config',
      'emulatorpin db1 0-1 --live --config',
      'iothreadpin db1 1 1 --live --config',
    ]);
  });

  it('a numeric IOThread id is not guessed for plain QEMU guests', () => {
    const g = { ...libvirtGuest(), libvirt: false };
    expect(() => buildPinRequests(g, { vcpus: new Map(), emulator: null, iothreads: new Map([['1', [1]]]) })).toThrow(/no iothread "1"/);
  });

  it('re-pinning keeps the first before (live and XML) of each libvirt target, so unpin goes all the way back', () => {
    const pin = (what: LibvirtPin['what'], id: string | null, before: string, after: string, beforeConfig: string | null = null): LibvirtPin => ({
      domain: 'db1',
      what,
      id,
      before,
      beforeConfig,
      after,
    });
    const base: Omit<PinState, 'libvirt' | 'threads'> = { kind: 'kvcpu-pin-state', pid: 500, startTime: 77, guest: 'db1', savedAt: 'x', cgroup: null };
    savePinState(
      { ...base, threads: [{ tid: 510, comm: 'CPU 0/KVM', label: 'vcpu 0', before: '0-3', after: '2' }], libvirt: [pin('vcpu', '0', '0-3', '2', '0-3')] },
      dir,
    );
    savePinState(
      {
        ...base,
        threads: [{ tid: 510, comm: 'CPU 0/KVM', label: 'vcpu 0', before: '2', after: '3' }],
        libvirt: [pin('vcpu', '0', '2', '3', '2'), pin('emulator', null, '0-3', '0')],
      },
      dir,
    );
    const s = loadPinState(500, 77, dir)!;
    expect(s.threads).toEqual([{ tid: 510, comm: 'CPU 0/KVM', label: 'vcpu 0', before: '0-3', after: '3' }]);
    expect(s.libvirt).toEqual([pin('vcpu', '0', '0-3', '3', '0-3'), pin('emulator', null, '0-3', '0')]);
  });
  it('a retry after a pin libvirtd cut short keeps what the XML held before the first attempt', () => {
    const base: Omit<PinState, 'libvirt' | 'threads'> = { kind: 'kvcpu-pin-state', pid: 600, startTime: 88, guest: 'db2', savedAt: 'x', cgroup: null };
    const first: LibvirtPin = { domain: 'db2', what: 'vcpu', id: '0', before: '0-3', beforeConfig: '0-3', after: '2', configHad: false, cputuneHad: false };
    savePinState({ ...base, threads: [], libvirt: [first] }, dir);
    // The retry reads the XML kvcpu's first attempt left: the <vcpupin> is there now.
    savePinState({ ...base, threads: [], libvirt: [{ ...first, before: '2', beforeConfig: '2', configHad: true, cputuneHad: true }] }, dir);
    expect(loadPinState(600, 88, dir)!.libvirt).toEqual([first]);
  });

  it('isLibvirtGone tells a libvirtd that went away from a refused change', () => {
    const e = (stderr: string, killed = false) => Object.assign(new Error('Command failed'), { stderr, killed });
    expect(
      isLibvirtGone(e("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': Connection refused")),
    ).toBe(true);
    expect(isLibvirtGone(e('error: End of file while reading data: Input/output error'))).toBe(true);
    expect(isLibvirtGone(e('', true))).toBe(true); // virsh killed by kvcpu's timeout (a stopped libvirtd)
    expect(isLibvirtGone(e("error: invalid argument: Invalid cpuset '7' for vcpu '0'"))).toBe(false);
    expect(isLibvirtGone(e("error: failed to get domain 'x'"))).toBe(false);
  });
});
