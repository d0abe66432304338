import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import type { ReportOptions } from './types.ts';

/** The report's one host read (opts.host), or a fresh read when a section runs on its own. */
export function reportHost(opts: ReportOptions): HostSnapshot {
  return opts.host ? opts.host() : readHost({ root: opts.root });
}

/**
 * Memoize a host read for one report: every section gets the same snapshot (and the same error
 * when the root is broken), instead of reading /proc and /sys once per section.
 */
export function memoHost(root: string): () => HostSnapshot {
  let result: { ok: true; host: HostSnapshot } | { ok: false; error: unknown } | undefined;
  return () => {
    if (!result) {
      try {
        result = { ok: true, host: readHost({ root }) };
      } catch (error) {
        result = { ok: false, error };
      }
    }
    if (!result.ok) throw result.error;
    return result.host;
  };
}
