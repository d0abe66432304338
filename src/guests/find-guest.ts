import { KvcpuError } from '../core/errors.ts';
import { didYouMean } from '../core/suggest-names.ts';
import type { GuestProcess, GuestSnapshot } from './types.ts';

/** GUEST on the command line: a pid, or a name (-name guest=X). */
export function findGuest(snap: GuestSnapshot, ref: string): GuestProcess {
  if (/^\d+$/.test(ref)) {
    const g = snap.guests.find((x) => x.pid === Number(ref));
    if (g) return g;
  }
  const byName = snap.guests.filter((x) => x.name === ref);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new KvcpuError('E_GUEST_AMBIGUOUS', `${byName.length} QEMU processes are named "${ref}" (pids ${byName.map((g) => g.pid).join(', ')})`, {
      hint: 'name the guest by pid instead',
    });
  }
  const names = snap.guests.map((g) => `${g.name} (${g.pid})`);
  const near = didYouMean(
    ref,
    snap.guests.map((g) => g.name),
  );
  throw new KvcpuError('E_GUEST_NOT_FOUND', `no running QEMU guest "${ref}"`, {
    hint: names.length
      ? `${near ? `${near} ` : ''}running: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''}`
      : 'no QEMU processes are running (see `kvcpu ps`)',
  });
}

/**
 * `kvcpu ps|top|overcommit [GUEST...]`: keep only the named guests (names or pids), in the
 * snapshot's order. Each ref must match (E_GUEST_NOT_FOUND / E_GUEST_AMBIGUOUS otherwise), so a
 * typo is an error, not an empty table. No refs: every guest.
 */
export function filterGuests(snap: GuestSnapshot, refs: string[]): GuestSnapshot {
  if (refs.length === 0) return snap;
  const keep = new Set(refs.map((r) => findGuest(snap, r).pid));
  return { ...snap, guests: snap.guests.filter((g) => keep.has(g.pid)) };
}
