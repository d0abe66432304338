import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAssignments } from './build-pin-requests.ts';
import { guest } from './fixtures.test-helpers.ts';
import { configPinPresence, removeDefaultIothreadids, removePinElements } from './libvirt-pins.ts';
import { cgroupManagerOf } from './pin-guests.ts';
import { orderVcpuThreads } from './scan-proc.ts';

// Pure parts of the issue 16 pinning fixes; the end-to-end cases run on real libvirt domains in
// test/e2e/guests-pin-libvirt.test.ts and on QEMU in test/e2e/guests-pin-cleanup.test.ts.
const root = mkdtempSync(join(tmpdir(), 'kvcpu-pin16-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const xml = (tune: string) => `<domain type='qemu'>\n  <name>d</name>\n  <iothreads>2</iothreads>\n${tune}  <os>\n  </os>\n</domain>\n`;

describe('domain XML restore (unpin)', () => {
  it('removes only the elements kvcpu added, and the <cputune> it created', () => {
    const before = xml('');
    const after = xml("  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n    <vcpupin vcpu='10' cpuset='0'/>\n    <emulatorpin cpuset='0'/>\n  </cputune>\n");
    expect(configPinPresence(before, { what: 'vcpu', id: '0' })).toEqual({ configHad: false, cputuneHad: false });
    // vcpu 0 and the emulator were added; vcpu 10 was not kvcpu's: it stays, so does <cputune>.
    expect(
      removePinElements(
        after,
        [
          { what: 'vcpu', id: '0' },
          { what: 'emulator', id: null },
        ],
        true,
      ),
    ).toBe(xml("  <cputune>\n    <vcpupin vcpu='10' cpuset='0'/>\n  </cputune>\n"));
    expect(
      removePinElements(
        after,
        [
          { what: 'vcpu', id: '0' },
          { what: 'vcpu', id: '10' },
          { what: 'emulator', id: null },
        ],
        true,
      ),
    ).toBe(before);
    // A <cputune> that was there before stays, even when empty now.
    expect(
      removePinElements(
        after,
        [
          { what: 'vcpu', id: '0' },
          { what: 'vcpu', id: '10' },
          { what: 'emulator', id: null },
        ],
        false,
      ),
    ).toBe(xml('  <cputune>\n  </cputune>\n'));
  });

  it('drops the <iothreadids> libvirt spelled out only when it holds exactly the default ids', () => {
    const ids = (s: string) => xml(`  <iothreadids>\n${s}  </iothreadids>\n`);
    expect(removeDefaultIothreadids(ids("    <iothread id='1'/>\n    <iothread id='2'/>\n"))).toBe(xml(''));
    const custom = ids("    <iothread id='1'/>\n    <iothread id='5'/>\n");
    expect(removeDefaultIothreadids(custom)).toBe(custom);
  });
});

describe('pin input', () => {
  it('a vCPU or IOThread given twice is refused (also 00 = 0)', () => {
    expect(() => parseAssignments(['0=1', '0=0'], 'vcpu')).toThrow(expect.objectContaining({ code: 'E_PIN_DUPLICATE' }));
    expect(() => parseAssignments(['0=1', '00=1'], 'vcpu')).toThrow(expect.objectContaining({ code: 'E_PIN_DUPLICATE' }));
    expect(() => parseAssignments(['iot0=1', 'iot0=0'], 'iothread')).toThrow(expect.objectContaining({ code: 'E_PIN_DUPLICATE' }));
    expect([...parseAssignments(['1=0', '0=1'], 'vcpu').keys()]).toEqual(['1', '0']);
  });
});

describe('cgroup managers', () => {
  const withCgroup = (pid: number, text: string) => {
    mkdirSync(join(root, 'proc', String(pid)), { recursive: true });
    writeFileSync(join(root, 'proc', String(pid), 'cgroup'), text);
    return { ...guest(pid, `g${pid}`, 1), libvirt: false };
  };
  it('libvirt domains, libvirt scopes and systemd machine.slice are managed; a plain process is not', () => {
    expect(cgroupManagerOf({ ...guest(1, 'lv', 1), libvirt: true }, root)).toBe('libvirt');
    expect(cgroupManagerOf(withCgroup(2, '3:cpuset:/machine/qemu-5-x.libvirt-qemu/emulator\n0::/\n'), root)).toBe('libvirt');
    expect(cgroupManagerOf(withCgroup(3, '0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope\n'), root)).toBe('systemd (machine.slice)');
    expect(cgroupManagerOf(withCgroup(4, '3:cpuset:/\n0::/user.slice/user-0.slice/session-1.scope\n'), root)).toBeNull();
  });
});

describe('thread order', () => {
  it('vCPU threads in vCPU order within their slots; other threads stay in tid order', () => {
    const t = (tid: number, comm: string) => ({ tid, stat: { comm } });
    const out = orderVcpuThreads([t(1, 'qemu'), t(2, 'CPU 0/TCG'), t(3, 'CPU 10/TCG'), t(4, 'IO x'), t(5, 'CPU 2/TCG')]);
    expect(out.map((x) => x.stat.comm)).toEqual(['qemu', 'CPU 0/TCG', 'CPU 2/TCG', 'IO x', 'CPU 10/TCG']);
  });
});
