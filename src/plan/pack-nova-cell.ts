/**
 * Pin one guest cell's dedicated vCPUs inside one host cell, following the rules of Nova 26.2.2
 * `_pack_instance_onto_cores` (nova/virt/hardware.py) as written up in
 * ../shared/notes/nova-algorithms.md §3, with two documented differences:
 *  - the free threads of a core are taken in ascending CPU order (Nova takes CPython set order,
 *    e.g. 65 before 1 for core {1,65}; README flag `ascending_order_agrees`);
 *  - `fixes.isolateEmulator`: under the `isolate` thread policy the emulator CPU comes from a
 *    fully free core (Nova takes any free thread, then its own claim pins that whole core and
 *    fails with CPUPinningInvalid: notes §10.1(4)).
 * Pure and O(cpus × threads-per-core).
 */

export type ThreadPolicy = 'prefer' | 'isolate' | 'require';

export interface PackInput {
  /** Host thread-sibling groups in walk order (all usable CPUs of the cell). */
  siblings: number[][];
  /** CPUs free for pinning (pcpuset − pinned). */
  free: ReadonlySet<number>;
  /** Guest vCPU ids to pin. */
  vcpus: number[];
  policy: ThreadPolicy;
  /** Extra CPUs to reserve for emulator threads (0 or 1). */
  reserve: number;
  /** Nova's new-style host (cpu_dedicated_set, pcpuset ≠ cpuset): `isolate` refuses SMT hosts. */
  newStyleHost: boolean;
  /** Take the emulator CPU for `isolate` guests from a fully free core (kvcpu's fix). */
  isolateEmulatorWholeCore: boolean;
  /** Accept an empty pinning (mixed cell without dedicated vCPUs): Nova ≥ 28 (bug 1994526). */
  emptyPinningOk: boolean;
}

export type PackResult = { ok: true; pinning: [number, number][]; reserved: number[] | null; threadsUsed: number; why: string } | { ok: false; why: string };

function take(k: number, groups: number[][], vcpus: number[]): [number, number][] | null {
  if (k * groups.length < vcpus.length) return null;
  const pcpus: number[] = [];
  for (const g of groups) {
    for (let i = 0; i < k && i < g.length; i++) pcpus.push(g[i]!);
    if (pcpus.length >= vcpus.length) break;
  }
  if (pcpus.length < vcpus.length) return null;
  return vcpus.map((v, i) => [v, pcpus[i]!]);
}

/** Nova `_get_reserved`: the first `n` CPUs left in `groups` once the guest's CPUs (or, under
 * isolate, their whole groups) are removed. Null when there are not enough. */
function reserveFrom(groups: number[][], pinning: [number, number][], n: number, wholeGroups: boolean): number[] | null {
  if (pinning.length === 0 && n > 0) return null;
  if (n === 0) return null;
  const used = new Set(pinning.map(([, p]) => p));
  const left: number[] = [];
  for (const g of groups) {
    if (wholeGroups && g.some((c) => used.has(c))) continue;
    for (const c of g) if (!used.has(c)) left.push(c);
  }
  return left.length >= n ? left.slice(0, n) : null;
}

export function packNovaCell(inp: PackInput): PackResult {
  const vcpus = [...inp.vcpus].sort((a, b) => a - b);
  const tpc = Math.max(1, ...inp.siblings.map((g) => g.length));
  const freeGroups = inp.siblings.map((g) => g.filter((c) => inp.free.has(c)).sort((a, b) => a - b));
  const maxFree = Math.max(0, ...freeGroups.map((g) => g.length));
  const bucket = (k: number) => freeGroups.filter((g) => g.length >= k);
  const R = inp.reserve;
  const emptyFails = vcpus.length === 0 && !inp.emptyPinningOk;

  if (vcpus.length === 0) {
    if (emptyFails) return { ok: false, why: 'no dedicated vCPUs in this cell: Nova 26 treats the empty pinning as a failure (bug 1994526)' };
    if (R === 0) return { ok: true, pinning: [], reserved: null, threadsUsed: 1, why: 'no dedicated vCPUs in this cell' };
    const left = freeGroups.flat();
    return left.length >= R
      ? { ok: true, pinning: [], reserved: left.slice(0, R), threadsUsed: 1, why: 'emulator CPU only' }
      : { ok: false, why: 'no free CPU for the emulator thread' };
  }

  if (inp.policy === 'isolate') {
    // Nova: isolate needs whole free cores (bucket TPC); one vCPU per core, the claim then takes the core.
    if (maxFree < tpc) return { ok: false, why: `isolate: no fully free core (${tpc} threads) left` };
    if (tpc !== 1 && inp.newStyleHost) {
      return { ok: false, why: 'isolate: host has SMT and uses cpu_dedicated_set, so Nova refuses isolate (bug 1889633 guard)' };
    }
    const full = bucket(tpc);
    const pinning = take(1, full, vcpus);
    if (!pinning) return { ok: false, why: `isolate: ${vcpus.length} vCPUs need ${vcpus.length} fully free cores, ${full.length} free` };
    let reserved: number[] | null = null;
    if (R > 0) {
      // kvcpu fix: the emulator CPU's core is claimed whole too, so it must be fully free.
      const source = inp.isolateEmulatorWholeCore ? freeGroups.filter((g, i) => g.length === inp.siblings[i]!.length && g.length > 0) : bucket(1);
      reserved = reserveFrom(source, pinning, R, true);
      if (!reserved) {
        return {
          ok: false,
          why: inp.isolateEmulatorWholeCore
            ? 'isolate + emulator isolate: no further fully free core for the emulator thread'
            : 'isolate + emulator isolate: no CPU left for the emulator thread',
        };
      }
    }
    return { ok: true, pinning, reserved, threadsUsed: 1, why: `isolate: one vCPU per fully free core, whole cores claimed` };
  }

  if (inp.policy === 'require' && tpc <= 1) return { ok: false, why: 'require: host cell has no SMT siblings' };
  let last: [number, number][] | null = null;
  const lowest = inp.policy === 'require' ? 2 : 1;
  for (let k = maxFree; k >= 1; k--) {
    if (k < lowest) continue; // Nova skips without touching its `pinning` variable
    const groups = bucket(k);
    const pinning = take(k, groups, vcpus);
    last = pinning;
    if (!pinning) continue;
    const reserved = R > 0 ? reserveFrom(bucket(1), pinning, R, false) : null;
    if (R > 0 && !reserved) continue;
    const why =
      k === tpc && tpc > 1
        ? `${inp.policy}: packed ${k} sibling threads per core`
        : k === 1
          ? `${inp.policy}: one vCPU per core (no ${tpc > 1 ? 'free sibling sets big enough' : 'SMT'})`
          : `${inp.policy}: ${k} threads per core`;
    return { ok: true, pinning, reserved, threadsUsed: k, why };
  }
  if (inp.policy === 'require') return { ok: false, why: `require: not enough cores with ≥2 free sibling threads for ${vcpus.length} vCPUs` };
  // Nova keeps the last loop's pinning; a k=1 pinning whose reserve failed skips the fallback.
  if (last) return { ok: false, why: 'no free CPU left for the emulator thread' };
  // Linear fallback (Nova bug 1578155): every free CPU, in group order.
  const singles = freeGroups.flat().map((c) => [c]);
  const pinning = take(1, singles, vcpus);
  if (!pinning) return { ok: false, why: `${vcpus.length} vCPUs but only ${singles.length} free dedicated CPUs` };
  const reserved = R > 0 ? reserveFrom(singles, pinning, R, false) : null;
  if (R > 0 && !reserved) return { ok: false, why: 'no free CPU left for the emulator thread' };
  return { ok: true, pinning, reserved, threadsUsed: 1, why: 'prefer: no even sibling packing fits, every free CPU in core order (linear fallback)' };
}
