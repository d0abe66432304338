import { readFileSync } from 'node:fs';
import { packagePath } from '../core/package-root.ts';
import { collectModelsSection } from '../cpu-models/report-section.ts';
import { psJson } from '../guests/ps-json.ts';
import { collectHostSection } from '../host/report-section.ts';
import { readHostIdentity } from '../host/read-identity.ts';
import { assertReport, REPORT_SCHEMA_ID, type Report } from './report-schema.ts';
import type { Sample } from './sampler.ts';

let version: string | undefined;

/** kvcpu's version, from its package.json. */
export function kvcpuVersion(): string {
  version ??= (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** The `models` report section: the QEMU catalog against this host changes only with QEMU or the CPU, so it is computed once. */
export class ModelsCache {
  private value: Promise<{ status: 'ok' | 'skipped'; data: unknown; reason?: string }> | null = null;
  constructor(private readonly root = '/') {}
  get(): Promise<{ status: 'ok' | 'skipped'; data: unknown; reason?: string }> {
    this.value ??= collectModelsSection({ root: this.root, live: this.root === '/', color: false }).then(
      (s) => ({ status: s.status === 'skipped' ? ('skipped' as const) : ('ok' as const), data: s.data, ...(s.reason ? { reason: s.reason } : {}) }),
      (e: unknown) => {
        this.value = null;
        const err = e as { code?: string; message?: string };
        return { status: 'skipped' as const, data: null, error: { code: err.code ?? 'E_INTERNAL', message: err.message ?? String(e) } };
      },
    );
    return this.value;
  }
}

/** `GET /api/v1/guests` = `kvcpu ps --json`, from the sample. */
export function guestsView(s: Sample): unknown {
  return psJson(s.guests);
}

export function checksView(s: Sample): unknown {
  return s.checks ?? { checks: [] };
}

/**
 * `GET /api/v1/report` = `kvcpu report --json` (kvcpu/report/1), assembled from the sample with
 * the same section builders as the CLI (no extra /proc walk), and checked against ReportSchema.
 */
export async function reportView(s: Sample, models: ModelsCache): Promise<Report> {
  const m = await models.get();
  const checksStatus = s.checks === null ? 'skipped' : s.checks.checks.some((c) => c.status === 'FAIL') ? 'findings' : 'ok';
  const host = await collectHostSection({ root: s.host.root, live: s.host.root === '/', color: false, host: () => s.host });
  const doc = {
    schema: REPORT_SCHEMA_ID,
    kvcpuVersion: kvcpuVersion(),
    generatedAt: s.takenAt,
    root: s.host.root,
    host: readHostIdentity(s.host.root),
    sections: {
      host: { title: host.title, status: host.status, data: host.data },
      checks: {
        title: 'Virtualization readiness',
        status: checksStatus,
        data: s.checks ?? { checks: [] },
        ...(s.checks ? {} : { reason: 'the first readiness run has not finished yet' }),
      },
      models: { title: 'CPU models', ...m },
      guests: { title: 'Guests and vCPU placement', status: 'ok', data: psJson(s.guests) },
      overcommit: { title: 'Overcommit', status: s.overcommit.verdict === 'FAIL' ? 'findings' : 'ok', data: s.overcommit },
    },
  };
  assertReport(doc);
  return doc as Report;
}
