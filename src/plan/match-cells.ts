/**
 * Bipartite matching between guest cells (rows) and host cells (columns): can every row in
 * `rows` get its own column among `freeCols`, using only allowed pairs? Kuhn's augmenting
 * paths, O(rows × edges) — tiny for NUMA sizes (≤ 8 × 64).
 */
export function canMatchAll(allowed: boolean[][], rows: number[], freeCols: boolean[]): boolean {
  const owner = new Map<number, number>();
  const tryRow = (r: number, seen: Set<number>): boolean => {
    const row = allowed[r]!;
    for (let c = 0; c < row.length; c++) {
      if (!row[c] || !freeCols[c] || seen.has(c)) continue;
      seen.add(c);
      const o = owner.get(c);
      if (o === undefined || tryRow(o, seen)) {
        owner.set(c, r);
        return true;
      }
    }
    return false;
  };
  for (const r of rows) if (!tryRow(r, new Set())) return false;
  return true;
}
