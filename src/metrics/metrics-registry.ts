import { Counter, Gauge, Registry } from 'prom-client';
import type { Sample } from '../app/sampler.ts';
import { isPinned, vcpuThreads } from '../app/sampler.ts';
import type { GuestProcess } from '../guests/types.ts';

/**
 * Label value for a guest. Two QEMU processes may carry the same -name; the second and later
 * get ` (pid N)` so their series do not collide. Quotes, backslashes and newlines in names are
 * escaped by prom-client's exposition writer.
 */
function guestLabels(guests: GuestProcess[]): Map<number, string> {
  const seen = new Map<string, number>();
  for (const g of guests) seen.set(g.name, (seen.get(g.name) ?? 0) + 1);
  return new Map(guests.map((g) => [g.pid, (seen.get(g.name) ?? 0) > 1 ? `${g.name} (pid ${g.pid})` : g.name]));
}

const CHECK_VALUE: Record<string, number> = { PASS: 0, WARN: 1, FAIL: 2 };

/**
 * A private prom-client registry whose values all come from the sampler's latest sample at
 * scrape time (collect callbacks): a scrape never walks /proc. Names follow Prometheus'
 * conventions (base units, _total on counters, _info for build info) and pass `promtool check
 * metrics`.
 */
export function createMetricsRegistry(latest: () => Sample, version: string): Registry {
  const reg = new Registry();
  const vcpuRows = function* (s: Sample) {
    const names = guestLabels(s.guests.guests);
    for (const g of s.guests.guests) {
      for (const t of vcpuThreads(g)) {
        if (t.vcpu === null) continue;
        yield { g, t, labels: { guest: names.get(g.pid)!, vcpu: String(t.vcpu) } };
      }
    }
  };

  new Gauge({
    name: 'kvcpu_host_cpus',
    help: 'Host CPUs by state: online, offline (present but not online), isolated (isolcpus=), housekeeping (online and not isolated).',
    labelNames: ['state'],
    registers: [reg],
    collect() {
      const s = latest();
      const iso = new Set(s.isolated);
      const offline = s.host.perCpu.filter((r) => !r.online).length;
      this.reset();
      this.set({ state: 'online' }, s.online.length);
      this.set({ state: 'offline' }, offline);
      this.set({ state: 'isolated' }, s.online.filter((c) => iso.has(c)).length);
      this.set({ state: 'housekeeping' }, s.online.filter((c) => !iso.has(c)).length);
    },
  });
  new Gauge({
    name: 'kvcpu_guest_vcpus',
    help: 'vCPUs of each running QEMU guest.',
    labelNames: ['guest'],
    registers: [reg],
    collect() {
      const s = latest();
      const names = guestLabels(s.guests.guests);
      this.reset();
      for (const g of s.guests.guests) this.set({ guest: names.get(g.pid)! }, g.vcpuCount);
    },
  });
  new Gauge({
    name: 'kvcpu_vcpu_cpu',
    help: 'Host CPU the vCPU thread last ran on (psr, /proc/PID/task/TID/stat field 39).',
    labelNames: ['guest', 'vcpu'],
    registers: [reg],
    collect() {
      this.reset();
      for (const { t, labels } of vcpuRows(latest())) if (t.psr !== null) this.set(labels, t.psr);
    },
  });
  new Gauge({
    name: 'kvcpu_vcpu_pinned',
    help: '1 when the vCPU thread affinity is a strict subset of the online CPUs, else 0.',
    labelNames: ['guest', 'vcpu'],
    registers: [reg],
    collect() {
      const s = latest();
      this.reset();
      for (const { t, labels } of vcpuRows(s)) this.set(labels, isPinned(t.affinity, s.online) ? 1 : 0);
    },
  });
  new Counter({
    name: 'kvcpu_vcpu_seconds_total',
    help: 'CPU time the vCPU thread used (utime+stime), seconds.',
    labelNames: ['guest', 'vcpu'],
    registers: [reg],
    collect() {
      const s = latest();
      this.reset();
      for (const { t, labels } of vcpuRows(s)) this.inc(labels, t.runNs !== null ? t.runNs / 1e9 : t.cpuTicks / s.guests.ticksPerSecond);
    },
  });
  new Counter({
    name: 'kvcpu_vcpu_wait_seconds_total',
    help: 'Time the vCPU thread waited runnable on a host run queue (schedstat field 2): the steal time the guest sees, seconds.',
    labelNames: ['guest', 'vcpu'],
    registers: [reg],
    collect() {
      this.reset();
      for (const { t, labels } of vcpuRows(latest())) if (t.waitNs !== null) this.inc(labels, t.waitNs / 1e9);
    },
  });
  new Counter({
    name: 'kvcpu_vcpu_migrations_total',
    help: 'Times the scheduler moved the vCPU thread to another host CPU (se.nr_migrations).',
    labelNames: ['guest', 'vcpu'],
    registers: [reg],
    collect() {
      this.reset();
      for (const { t, labels } of vcpuRows(latest())) if (t.migrations !== null) this.inc(labels, t.migrations);
    },
  });
  new Gauge({
    name: 'kvcpu_overcommit_ratio',
    help: 'Running guest vCPUs per online host CPU.',
    registers: [reg],
    collect() {
      this.set(latest().overcommit.ratio);
    },
  });
  new Gauge({
    name: 'kvcpu_check_status',
    help: 'Readiness check verdict: 0 PASS, 1 WARN, 2 FAIL (SKIP checks are not exported).',
    labelNames: ['check'],
    registers: [reg],
    collect() {
      this.reset();
      for (const c of latest().checks?.checks ?? []) {
        const v = CHECK_VALUE[c.status];
        if (v !== undefined) this.set({ check: c.id }, v);
      }
    },
  });
  new Gauge({
    name: 'kvcpu_build_info',
    help: 'kvcpu build information; the value is always 1.',
    labelNames: ['version'],
    registers: [reg],
    collect() {
      this.reset();
      this.set({ version }, 1);
    },
  });
  new Gauge({
    name: 'kvcpu_sample_duration_seconds',
    help: 'How long the last /proc and /sys walk took.',
    registers: [reg],
    collect() {
      this.set(latest().durationMs / 1000);
    },
  });
  new Gauge({
    name: 'kvcpu_sample_timestamp_seconds',
    help: 'Unix time of the sample every value comes from.',
    registers: [reg],
    collect() {
      this.set(Date.parse(latest().takenAt) / 1000);
    },
  });
  return reg;
}
