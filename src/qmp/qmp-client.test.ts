import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../check/probe-kvm.ts';
import { qemuAvailable, startQemu } from './start-qemu.ts';

const hasQemu = qemuAvailable();

describe.skipIf(!hasQemu)('QMP client against real QEMU', () => {
  it('greets, runs commands, maps errors, and fails pending calls when QEMU dies', async () => {
    const q = await startQemu({ args: ['-machine', 'none', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-S'] });
    try {
      expect(q.qmp.greeting.QMP.version.qemu.major).toBeGreaterThanOrEqual(7);
      const status = await q.qmp.execute<{ running: boolean; status: string }>('query-status');
      expect(status.status).toBe('prelaunch');
      await expect(q.qmp.execute('no-such-command')).rejects.toMatchObject({ code: 'E_QMP_COMMAND_NOT_FOUND' });
      await expect(q.qmp.execute('device_del', { id: 'nope' })).rejects.toMatchObject({ code: 'E_QMP_DEVICE_NOT_FOUND' });
      // Kill QEMU under a pending call: the call must fail with E_QMP_CLOSED, not hang.
      process.kill(q.pid, 'SIGKILL');
      await expect(q.qmp.execute('query-status', undefined, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'E_QMP_CLOSED' });
    } finally {
      await q.stop();
    }
    expect(() => process.kill(q.pid, 0)).toThrow();
  });

  it('reports QEMU refusing to start as E_QEMU_FAILED with its message', async () => {
    await expect(startQemu({ args: ['-machine', 'none', '-smp', '4,maxcpus=2', '-nodefaults', '-display', 'none', '-S'] })).rejects.toMatchObject({
      code: 'E_QEMU_FAILED',
      message: expect.stringContaining('maxcpus'),
    });
  });

  it('emits events (STOP after stop)', async () => {
    const q = await startQemu({ args: ['-machine', 'pc', '-accel', 'tcg', '-nodefaults', '-display', 'none'] });
    try {
      const ev = q.qmp.waitForEvent('STOP', 5000);
      await q.qmp.execute('stop');
      expect((await ev).event).toBe('STOP');
    } finally {
      await q.stop();
    }
  });

  it('the cached KVM probe (kvmUsable) agrees with QEMU accepting -accel kvm', async () => {
    const kvm = await kvmUsable();
    const attempt = startQemu({ args: ['-machine', 'none', '-accel', 'kvm', '-nodefaults', '-display', 'none', '-S'] });
    if (kvm) {
      const q = await attempt;
      await q.stop();
    } else {
      await expect(attempt).rejects.toMatchObject({ code: 'E_QEMU_FAILED' });
    }
  });
});
