import { QmpClient } from '../qmp/qmp-client.ts';

interface CpuFast {
  'cpu-index': number;
  'thread-id': number;
}

/**
 * vCPU TIDs from QMP `query-cpus-fast` (thread-id = TID in /proc/PID/task). Returns null when
 * the socket is unreachable or busy: a QMP chardev serves one client at a time, so a monitor
 * held by libvirt or a user accepts the connection but never sends the greeting — the short
 * timeout keeps `kvcpu ps` fast.
 */
export async function queryVcpuTids(socketPath: string, timeoutMs = 400): Promise<Map<number, number> | null> {
  let qmp: QmpClient | null = null;
  try {
    qmp = await QmpClient.connect(socketPath, { timeoutMs });
    const cpus = await qmp.execute<CpuFast[]>('query-cpus-fast', undefined, { timeoutMs });
    const m = new Map<number, number>();
    // With -accel tcg,thread=single every entry has the same thread-id: keep the lowest index.
    for (const c of cpus) if (!m.has(c['thread-id'])) m.set(c['thread-id'], c['cpu-index']);
    return m;
  } catch {
    return null;
  } finally {
    qmp?.close();
  }
}
