/**
 * `kvcpu/plan`: Plan: place guests on host CPUs (dedicated/shared, NUMA cells), pin plans, Nova NUMA fitting.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { planGuests, planGuest, validateGuestRequest, hostAfter } from './plan-guests.ts';
export { planFleet } from './plan-fleet.ts';
export type { FleetPlacement, FleetResult } from './plan-fleet.ts';
export { buildPlanHost, syntheticPlanHost } from './build-plan-host.ts';
export type { HostSets } from './build-plan-host.ts';
export { parseGuestSpec, guestsFromJson, guestFromRecord } from './parse-guest-spec.ts';
export { checkGuestPlan, checkL3Kept } from './check-plan.ts';
export type { GuestCheck } from './check-plan.ts';
export { renderPlan, toPinPlanJson, PLAN_FORMATS } from './render-plan.ts';
export type { PlanFormat } from './render-plan.ts';
export { PinPlanSchema, PinPlanGuestSchema } from './pin-plan.ts';
export type { PinPlan, PinPlanGuest } from './pin-plan.ts';
export { DEFAULT_PLAN_OPTIONS } from './plan-types.ts';
export type {
  CpuPolicy,
  ThreadPolicyName,
  PlanHost,
  GuestRequest,
  PlanOptions,
  PlannedVcpu,
  PlannedCell,
  GuestPlan,
  GuestPlanOk,
  GuestPlanRefused,
  PlanResult,
} from './plan-types.ts';
export { parseNovaCase } from './nova-case.ts';
export type { NovaCase, NovaAnswer, NovaHostCell, NovaInstance, NovaInstanceCell } from './nova-case.ts';
export { fitNovaHost, answerNovaCase } from './fit-nova-host.ts';
export type { FitHostOptions, FitHostResult } from './fit-nova-host.ts';
export { checkNovaAnswer } from './check-nova-answer.ts';
export { parseNovaUsageCase, answerNovaUsage } from './nova-usage.ts';
export type { NovaUsageCase, NovaUsageAnswer } from './nova-usage.ts';
export { getNovaNumaConstraints, parseNovaFlavorRequest, parseNovaCpuSpec } from './nova-numa-constraints.ts';
export type { NovaFlavorRequest, NovaConstraintsAnswer } from './nova-numa-constraints.ts';
