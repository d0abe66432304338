import { parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { GuestSnapshot } from '../guests/types.ts';
import { buildPlanHost } from '../plan/build-plan-host.ts';
import { assertPlanValid } from '../plan/check-plan.ts';
import { guestFromRecord } from '../plan/parse-guest-spec.ts';
import { planGuests } from '../plan/plan-guests.ts';
import { toPinPlanJson } from '../plan/render-plan.ts';
import type { PlanBody } from './api-schemas.ts';

/** `POST /api/v1/plan`: plan the given guests on this host (the `kvcpu plan --json` answer); changes nothing. */
export function planFromBody(body: PlanBody, snap: HostSnapshot): ReturnType<typeof toPinPlanJson> {
  const host = buildPlanHost(snap, { reserved: body.reserved, dedicated: body.dedicatedSet, shared: body.sharedSet });
  const guests = body.guests.map((g, i) => guestFromRecord(g as Record<string, unknown>, i));
  const names = new Set<string>();
  for (const g of guests) {
    if (names.has(g.name)) throw new KvcpuError('E_BAD_INPUT', `two guests are named ${g.name}`, { hint: 'guest names identify them in the pin plan' });
    names.add(g.name);
  }
  const pinned = body.pinned ? parseCpulist(body.pinned) : [];
  const result = planGuests(host, guests, { placement: body.placement, cpuAllocationRatio: body.cpuRatio, ramAllocationRatio: body.ramRatio }, pinned);
  assertPlanValid(host, guests, result, pinned, 'this is a kvcpu bug: please report it with the request body');
  return toPinPlanJson(result);
}

export interface Suggestion {
  /** The policy the suggestion uses: dedicated when every running guest fits 1:1, else shared. */
  policy: 'dedicated' | 'shared';
  plan: ReturnType<typeof toPinPlanJson>;
  /** Running guests the planner was not asked about (names it cannot carry, single-thread TCG). */
  skipped: string[];
}

/**
 * The planner's suggestion for the guests running now: each guest with its current vCPU count
 * and memory, dedicated CPUs when they all fit, else floating on the shared set.
 */
export function suggestForRunning(guests: GuestSnapshot, snap: HostSnapshot): Suggestion | null {
  const skipped: string[] = [];
  const reqs: Record<string, unknown>[] = [];
  for (const g of guests.guests) {
    const single = g.threads.some((t) => t.role === 'vcpu' && t.vcpus);
    if (!/^[A-Za-z0-9_.:-]+$/.test(g.name) || g.vcpuCount < 1 || single) skipped.push(g.name);
    else reqs.push({ name: g.name, vcpus: g.vcpuCount, ...(g.config.memoryMiB ? { memory: g.config.memoryMiB } : {}) });
  }
  if (reqs.length === 0) return null;
  const host = buildPlanHost(snap);
  for (const policy of ['dedicated', 'shared'] as const) {
    const requests = reqs.map((r, i) => guestFromRecord({ ...r, policy }, i));
    const result = planGuests(host, requests);
    if (policy === 'shared' || result.guests.every((g) => g.fits)) {
      assertPlanValid(host, requests, result, [], 'this is a kvcpu bug: please report it with the agent log');
      return { policy, plan: toPinPlanJson(result), skipped };
    }
  }
  return null;
}
