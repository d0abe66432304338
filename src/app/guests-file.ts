import { z } from 'zod';
import { KvcpuError } from '../core/errors.ts';
import { guestFromRecord } from '../plan/parse-guest-spec.ts';
import type { GuestRequest } from '../plan/plan-types.ts';
import { PlanGuestSpecSchema } from './api-schemas.ts';

/**
 * The `kvcpu plan --guests FILE` document: a list of guests, or `{"guests": [...]}`, each guest
 * the same object the agent's `POST /api/v1/plan` takes (PlanGuestSpecSchema), so a file that
 * plans on the command line plans through the agent too.
 */
export const GuestsFileSchema = z.union([z.array(PlanGuestSpecSchema), z.object({ guests: z.array(PlanGuestSpecSchema) }).strict()]);

/**
 * Validate a parsed guests file: E_BAD_INPUT naming every bad field (`[1].vcpus: ...`), then
 * the guest rules shared with `--guest` (names, masks) from guestFromRecord.
 */
export function parseGuestsFile(value: unknown, where = 'guests file'): GuestRequest[] {
  const r = GuestsFileSchema.safeParse(value);
  if (!r.success) {
    // A union reports each branch; the list branch speaks for the entries when the document is a list.
    const issues = r.error.issues.flatMap((i) => (i.code === 'invalid_union' ? (Array.isArray(value) ? i.errors[0]! : (i.errors[1] ?? i.errors[0]!)) : [i]));
    throw new KvcpuError(
      'E_BAD_INPUT',
      `${where} is not a list of guests: ${issues.map((i) => `${i.path.length ? formatPath(i.path) : '(document)'}: ${i.message}`).join('; ')}`,
      {
        hint: 'expected [{"name":"g1","vcpus":4,"policy":"dedicated|shared|mixed","threads":"prefer|isolate|require","emulator":"share|isolate","numa":1,"l3":true,"mask":"0-1","iothreads":0}] or {"guests":[...]}',
      },
    );
  }
  const list = Array.isArray(r.data) ? r.data : r.data.guests;
  return list.map((g, i) => guestFromRecord(g as Record<string, unknown>, i));
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
