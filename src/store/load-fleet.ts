import type { FleetHost } from '../app/fleet-query.ts';
import { KvcpuError } from '../core/errors.ts';
import type { FleetStore } from './fleet-store.ts';

/** Every stored host with its CPU: what the fleet queries (pure functions in app/) take. */
export async function loadFleetHosts(store: FleetStore): Promise<FleetHost[]> {
  const hosts = await store.hosts();
  const cpus = await store.cpus();
  return hosts.map((h) => {
    const cpu = cpus.get(h.cpuDigest);
    if (!cpu)
      throw new KvcpuError('E_FLEET_CORRUPT', `host ${h.summary.name} references a CPU the store does not hold`, { hint: 'the store was edited by hand?' });
    return { summary: h.summary, cpu, cpuDigest: h.cpuDigest, lastSeen: h.lastSeen, reports: h.reports };
  });
}

/** `--hosts a,b,c`: those hosts, each of which must exist. */
export function pickHosts(all: FleetHost[], names: string[]): FleetHost[] {
  const byName = new Map(all.map((h) => [h.summary.name, h]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) {
    throw new KvcpuError(
      'E_FLEET_UNKNOWN_HOST',
      `not in the store: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (+${missing.length - 10})` : ''}`,
      {
        hint: '`kvcpu fleet hosts --db DB` lists the stored hosts',
      },
    );
  }
  return names.map((n) => byName.get(n)!);
}
