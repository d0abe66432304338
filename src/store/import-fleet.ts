import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FleetRecord } from '../app/fleet-record.ts';
import { isCaptureTree, readFleetInput } from '../app/read-fleet-input.ts';
import { isKvcpuError, KvcpuError } from '../core/errors.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import type { FleetStore } from './fleet-store.ts';

export interface ImportProblem {
  path: string;
  code: string;
  message: string;
}

export interface ImportSummary {
  files: number;
  stored: number;
  unchanged: number;
  failed: ImportProblem[];
  hosts: string[];
}

/** Files and capture trees under `paths` (folders walked; hidden entries and symlinked folders skipped). */
export function listFleetInputs(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, depth: number) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      out.push(p); // readFleetInput reports the missing path with its code
      return;
    }
    if (!st.isDirectory()) return void out.push(p);
    if (isCaptureTree(p)) return void out.push(p);
    if (depth > 16) return;
    for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const child = path.join(p, e.name);
      if (e.isDirectory()) walk(child, depth + 1);
      else if (e.isFile()) out.push(child);
    }
  };
  for (const p of paths) walk(p, 0);
  return out;
}

/**
 * `kvcpu fleet import`: parse every input, store the good ones in batches (one transaction per
 * batch), and report each bad one with its path and code while the rest still imports.
 */
export async function importFleet(
  store: FleetStore,
  x: X86Map,
  paths: string[],
  opts: { onProgress?: (done: number, total: number) => void; batch?: number; allowRename?: boolean } = {},
): Promise<ImportSummary> {
  const files = listFleetInputs(paths);
  const summary: ImportSummary = { files: files.length, stored: 0, unchanged: 0, failed: [], hosts: [] };
  const batchSize = opts.batch ?? 500;
  let pending: { path: string; record: FleetRecord }[] = [];
  const seen = new Set<string>();
  const flush = async () => {
    if (!pending.length) return;
    const results = await store.putMany(
      pending.map((p) => p.record),
      { allowRename: !!opts.allowRename },
    );
    results.forEach((r, i) => {
      if (r instanceof KvcpuError) summary.failed.push({ path: pending[i]!.path, code: r.code, message: r.message });
      else {
        if (r.stored) summary.stored++;
        else summary.unchanged++;
        if (!seen.has(r.host)) {
          seen.add(r.host);
          summary.hosts.push(r.host);
        }
      }
    });
    pending = [];
  };
  let done = 0;
  for (const f of files) {
    try {
      for (const record of readFleetInput(x, f)) pending.push({ path: f, record });
    } catch (e) {
      if (!isKvcpuError(e)) throw e;
      summary.failed.push({ path: f, code: (e as KvcpuError).code, message: (e as KvcpuError).message });
    }
    done++;
    if (pending.length >= batchSize) await flush();
    opts.onProgress?.(done, files.length);
  }
  await flush();
  return summary;
}
