import { QmpClient } from '../qmp/qmp-client.ts';
import type { GuestProcess } from './types.ts';
import { virsh } from './libvirt-pins.ts';

/**
 * Make every vCPU thread of a guest run once so its psr (stat field 39) is current: a halted
 * vCPU's psr stays at the CPU it last ran on, even after its affinity changed. QMP `stop` +
 * `cont` kicks every vCPU thread (measured on these hosts: 90 of 90 threads correct after it).
 * The guest is paused for the length of two QMP round trips. Returns false when the monitor
 * cannot be reached (busy or absent).
 */
export async function wakeVcpus(guest: GuestProcess, timeoutMs = 500): Promise<boolean> {
  // libvirt owns its domains' monitor: never QMP behind its back; virsh suspend + resume is
  // the same stop + cont, sent by libvirt (which then knows the domain was paused).
  if (guest.libvirt && guest.config.qmpSockets.length === 0) return wakeViaLibvirt(guest.name);
  for (const sock of guest.config.qmpSockets) {
    let q: QmpClient | null = null;
    try {
      q = await QmpClient.connect(sock, { timeoutMs });
      const status = await q.execute<{ running: boolean }>('query-status', undefined, { timeoutMs });
      if (!status.running) return true; // paused on purpose: leave it paused
      await q.execute('stop', undefined, { timeoutMs });
      await q.execute('cont', undefined, { timeoutMs });
      return true;
    } catch {
      // try the next socket
    } finally {
      q?.close();
    }
  }
  return false;
}

async function wakeViaLibvirt(domain: string): Promise<boolean> {
  try {
    const state = (await virsh(['domstate', domain], 10_000)).trim();
    if (state !== 'running') return state === 'paused'; // paused on purpose: leave it paused
    await virsh(['suspend', domain], 10_000);
    // Never leave the guest paused because one resume failed: retry once.
    await virsh(['resume', domain], 10_000).catch(() => virsh(['resume', domain], 10_000));
    return true;
  } catch {
    return false;
  }
}
