/**
 * Run `fn` over `items` with at most `limit` in flight, stopping new work at `deadline` (ms since
 * the epoch): the QEMU oracles start one QEMU per item, and a 2-CPU machine takes a few at once.
 * Items not reached by the deadline are left out of the result.
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>, deadline = Infinity): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && Date.now() < deadline) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out.filter((x) => x !== undefined);
}
