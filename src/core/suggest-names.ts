/**
 * "Did you mean …?" for every name kvcpu takes (CPU models, features, guests, sections): one
 * ranking so that `cpu explain Skylake`, `cpu compare epyc` and `pin ux` answer alike.
 *
 * Ranking, nearest first (all comparisons case-insensitive, `_`/`-` treated alike):
 *  1. the same name in another case or spelling (`epyc` → `EPYC`, `opteron-g5` → `Opteron_G5`);
 *  2. an alias the caller knows (`sse4_2` → `sse4.2`, a Linux or libvirt spelling);
 *  3. names the input is a prefix of, shortest first (`Skylake` → `Skylake-Client`,
 *     `Skylake-Server` before `Skylake-Server-v5`), then names containing it (`rome` → `EPYC-Rome`);
 *  4. small edit distances (at most 2, or a third of the input's length for long names).
 * An exact match in another case or an alias is returned alone. Ties sort naturally
 * (`-v1` before `-v5`, `Client` before `Server`).
 */

export interface SuggestOptions {
  /** Other spellings → canonical candidate (keys compared case-insensitively). */
  aliases?: ReadonlyMap<string, string> | Record<string, string>;
  /** How many names to return (default 3). */
  max?: number;
}

const fold = (s: string) => s.toLowerCase().replace(/_/g, '-');
const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Candidate names nearest to `input`, best first (empty when nothing is close). */
export function suggestNames(input: string, candidates: Iterable<string>, opts: SuggestOptions = {}): string[] {
  const max = opts.max ?? 3;
  const q = fold(input.trim());
  if (q === '') return [];
  const list = [...new Set(candidates)];
  const scored: { name: string; rank: number; sub: number; order: number }[] = [];
  const aliases = opts.aliases instanceof Map ? opts.aliases : new Map(Object.entries(opts.aliases ?? {}));
  const aliasTargets = new Set<string>();
  for (const [k, v] of aliases) if (fold(k) === q) aliasTargets.add(v);
  const limit = Math.max(2, Math.floor(q.length / 3));
  list.forEach((name, order) => {
    const n = fold(name);
    if (n === q) scored.push({ name, rank: 0, sub: 0, order });
    else if (aliasTargets.has(name)) scored.push({ name, rank: 1, sub: 0, order });
    else if (n.startsWith(q)) scored.push({ name, rank: 2, sub: n.length, order });
    else if (q.length >= 3 && n.includes(q)) scored.push({ name, rank: 3, sub: n.length, order });
    else {
      const d = editDistance(q, n);
      if (d <= limit) scored.push({ name, rank: 4, sub: d, order });
    }
  });
  scored.sort((a, b) => a.rank - b.rank || a.sub - b.sub || natural(a.name, b.name) || a.order - b.order);
  // The same name in another spelling is the answer: nothing else is worth listing.
  const sure = scored.filter((x) => x.rank <= 1);
  return (sure.length ? sure : scored).slice(0, max).map((x) => x.name);
}

/** The hint text: `did you mean 'EPYC'?` / `did you mean 'A', 'B' or 'C'?`, or null. */
export function didYouMean(input: string, candidates: Iterable<string>, opts: SuggestOptions = {}): string | null {
  const s = suggestNames(input, candidates, opts);
  if (s.length === 0) return null;
  const q = s.map((n) => `'${n}'`);
  return `did you mean ${q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`}?`;
}
