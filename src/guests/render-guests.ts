import { quoteInline } from '../core/errors.ts';
import { renderKeyValues, renderTable } from '../core/format.ts';
import type { OvercommitReport } from './assess-overcommit.ts';
import type { TopRow } from './top-rates.ts';
import type { GuestSnapshot } from './types.ts';

function vcpuLabel(t: { role: string; vcpu: number | null; vcpus?: number[]; iothread?: string }): string {
  if (t.role === 'vcpu') return t.vcpu !== null ? String(t.vcpu) : t.vcpus ? `0-${t.vcpus.length - 1}` : '?';
  return '-';
}

/** `kvcpu ps`: one aligned table for every thread of every guest on the host. */
export function renderPsTable(snap: GuestSnapshot): string {
  if (snap.guests.length === 0) return 'no QEMU guests running\n';
  const rows: (string | number | null)[][] = [];
  for (const g of snap.guests) {
    for (const t of g.threads) {
      rows.push([
        g.name,
        g.pid,
        t.tid,
        t.role,
        vcpuLabel(t),
        t.role === 'iothread' ? `${t.comm}` : t.detail === 'kernel KVM worker' ? `${t.comm} (kernel)` : t.comm,
        t.state,
        t.psr === null ? null : `${t.psr}${t.psrStale ? '*' : ''}`,
        t.core,
        t.node,
        t.affinity,
        (t.cpuTicks / snap.ticksPerSecond).toFixed(2),
        t.migrations,
        t.waitNs === null ? null : (t.waitNs / 1e6).toFixed(1),
      ]);
    }
  }
  const table = renderTable(['GUEST', 'PID', 'TID', 'ROLE', 'VCPU', 'THREAD', 'S', 'PSR', 'CORE', 'NODE', 'AFFINITY', 'CPU-S', 'MIGR', 'WAIT-MS'], rows, {
    right: [1, 2, 7, 8, 9, 11, 12, 13],
  });
  const summary = snap.guests.map(
    (g) =>
      `${quoteInline(g.name)} (pid ${g.pid}): ${g.vcpuCount} vCPU${g.vcpuCount === 1 ? '' : 's'}${g.config.maxCpus > g.vcpuCount ? ` of max ${g.config.maxCpus}` : ''}` +
      `${g.vcpuCountFrom === 'cmdline' ? ` (counted from -smp: its threads cannot be told apart, no debug-threads=on, QMP socket or libvirt status)` : ''}, accel ${quoteInline(g.config.accel)}${g.config.tcgThread ? ` thread=${quoteInline(g.config.tcgThread)}` : ''}, cpu ${quoteInline(g.config.cpuModel ?? 'default')}` +
      `${g.config.memoryMiB ? `, ${g.config.memoryMiB} MiB` : ''}, vCPUs by ${g.vcpuSource}${g.libvirt ? ', libvirt' : ''}`,
  );
  return (
    table +
    '\n' +
    summary.join('\n') +
    '\nPSR = CPU the thread last ran on; for sleeping (S) vCPU threads it is stale until the vCPU runs again' +
    (snap.guests.some((g) => g.threads.some((t) => t.psrStale))
      ? ' (* = outside its affinity: not run since re-pinned; `kvcpu ps --refresh-psr` wakes them)'
      : '') +
    '.\n'
  );
}

/** `kvcpu top`: per-vCPU rates. */
export function renderTopTable(rows: TopRow[], intervalSec: number): string {
  const header = `kvcpu top: ${rows.length} vCPU thread(s), interval ${intervalSec}s (q or Ctrl-C quits)\n`;
  if (rows.length === 0) return header + 'no QEMU vCPU threads\n';
  const sorted = [...rows].sort((a, b) => b.cpuPct - a.cpuPct || a.pid - b.pid || a.tid - b.tid);
  return (
    header +
    renderTable(
      ['GUEST', 'PID', 'TID', 'VCPU', 'S', 'PSR', 'AFFINITY', 'CPU%', 'MIGR/S', 'WAIT%'],
      sorted.map((r) => [
        r.guest,
        r.pid,
        r.tid,
        r.vcpu ?? 'all',
        r.state,
        r.psr,
        r.affinity,
        r.cpuPct.toFixed(1),
        r.migrationsPerSec?.toFixed(1),
        r.waitPct?.toFixed(1),
      ]),
      { right: [1, 2, 5, 7, 8, 9] },
    )
  );
}

export function renderOvercommit(r: OvercommitReport): string {
  const head = renderKeyValues([
    ['Verdict', r.verdict],
    ['Host CPUs (online)', r.hostCpus],
    ['Guest vCPUs', r.guestVcpus],
    ['Ratio', `${r.ratio}:1 (limit ${r.limit}:1)`],
  ]);
  const guests = r.guests.length
    ? renderTable(
        ['GUEST', 'PID', 'VCPUS', 'MAX', 'PINNED-TO', 'FITS'],
        r.guests.map((g) => [g.name, g.pid, g.vcpus, g.maxCpus, g.pinnedCpus, g.oversized ? 'FAIL' : 'ok']),
        { right: [1, 2, 3] },
      )
    : 'no QEMU guests running\n';
  const per = renderTable(
    ['CPU', 'VCPU-THREADS', 'RUNNABLE'],
    r.perCpu.map((p) => [p.cpu, p.vcpuThreads, p.running]),
    { right: [0, 1, 2] },
  );
  const checks = r.checks.map((c) => `${c.status.padEnd(4)}  ${c.id}: ${quoteInline(c.message)}`).join('\n');
  return `${head}\n${guests}\nvCPU threads by last CPU (psr):\n${per}\n${checks}\n`;
}
