import { readFileSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';
import { parseJsonText } from '../core/parse-json.ts';
import { PinPlanSchema, type PinPlan } from '../plan/pin-plan.ts';

/**
 * Read and validate a pin plan file (`kvcpu plan` output) against PinPlanSchema: `kvcpu pin
 * --plan`, `kvcpu launch --pin` and the agent all load plans here. `text` is the content when
 * the caller already has it (stdin, a request body); `path` then only names it in errors.
 */
export function loadPinPlan(path: string, text?: string): PinPlan {
  let raw: string;
  try {
    raw = text ?? readFileSync(path, 'utf8');
  } catch (e) {
    throw new KvcpuError('E_NOT_FOUND', `cannot read plan file ${path}: ${(e as Error).message}`, {
      hint: 'write one with `kvcpu plan ... --json > plan.json`',
    });
  }
  return parsePinPlan(parseJsonText(raw, path), path);
}

/** Validate an already parsed pin plan; E_BAD_INPUT names every bad field. */
export function parsePinPlan(value: unknown, where = 'plan'): PinPlan {
  // `kvcpu plan --json` lists the guests it could not place under placements (fits: false);
  // pinning the others would apply part of a plan: all or nothing covers the whole plan.
  const placements = (value as { placements?: unknown } | null)?.placements;
  const bad = Array.isArray(placements) ? (placements as { name?: string; fits?: boolean; failed?: string }[]).filter((p) => p && p.fits === false) : [];
  if (bad.length) {
    throw new KvcpuError(
      'E_PIN_PLAN_REFUSED',
      `${where}: the planner refused ${bad.map((b) => `${b.name ?? '?'}${b.failed ? ` (${b.failed})` : ''}`).join(', ')}; nothing was changed`,
      {
        hint: 'a plan is applied whole: re-plan without the refused guests (or with more host CPUs), then pin',
        details: { refused: bad.map((b) => ({ name: b.name, failed: b.failed })) },
      },
    );
  }
  const parsed = PinPlanSchema.safeParse(value);
  if (!parsed.success) {
    throw new KvcpuError('E_BAD_INPUT', `${where} is not a kvcpu pin plan: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      hint: 'expected {"kind":"kvcpu-pin-plan","version":1,"guests":[{"name","vcpus":{"0":"2"},...}]}',
    });
  }
  return parsed.data;
}
