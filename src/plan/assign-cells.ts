import { canMatchAll } from './match-cells.ts';

/**
 * Give each of k guest cells its own host cell (columns in preference order) among the allowed
 * pairs, returning the lexicographically first assignment (guest cell 0 gets the earliest host
 * cell it can have while the rest can still be matched, then cell 1, ...), or null.
 * Exact and polynomial: O(k·n) matching checks of O(k·k·n) each. `finalOk` (a constraint on the
 * chosen set, e.g. Nova's network NUMA affinity) turns it into a matching-pruned backtracking.
 */
export function assignCells(allowed: boolean[][], n: number, finalOk?: (pick: number[]) => boolean): { pick: number[] | null; steps: number } {
  const k = allowed.length;
  const used = new Array<boolean>(n).fill(false);
  const pick: number[] = [];
  let steps = 0;
  const rest = (i: number) => Array.from({ length: k - i - 1 }, (_, j) => i + 1 + j);
  const dfs = (i: number): boolean => {
    if (i === k) return finalOk ? finalOk(pick) : true;
    for (let h = 0; h < n; h++) {
      if (used[h] || !allowed[i]![h]) continue;
      steps++;
      used[h] = true;
      if (
        canMatchAll(
          allowed,
          rest(i),
          used.map((u) => !u),
        )
      ) {
        pick.push(h);
        if (dfs(i + 1)) return true;
        pick.pop();
        if (!finalOk) {
          // Unreachable: a perfect matching of the rest always completes.
          used[h] = false;
          return false;
        }
      }
      used[h] = false;
    }
    return false;
  };
  if (k > n) return { pick: null, steps };
  return dfs(0) ? { pick, steps } : { pick: null, steps };
}
