/**
 * kvcpu/report/1: docs/report.schema.json is what the zod schema generates (run
 * `npm run gen:schema` after changing src/app/report-schema.ts), every `kvcpu report --json`
 * (captured trees and the live host) is a valid document, the schema refuses broken ones, and
 * the models section and kvm.usable come from the same probe.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECK_IDS, REPORT_SCHEMA_ID, ReportSchema, reportJsonSchemaText, type Report } from '../src/app/report-schema.ts';
import { main } from '../src/cli/main.ts';
import { collectHostSection } from '../src/host/report-section.ts';
import { readHost } from '../src/host/read-host.ts';
import { memoHost } from '../src/report/report-host.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(repoRoot, 'test/fixtures/hosts');

async function report(argv: string[]): Promise<{ code: number; json: unknown }> {
  let out = '';
  const code = await main(['report', '--json', ...argv], { out: (s) => (out += s), err: () => {}, color: false, stdin: Readable.from([]) });
  return { code, json: JSON.parse(out) };
}

describe('kvcpu/report/1', () => {
  it('docs/report.schema.json is up to date (npm run gen:schema)', () => {
    expect(readFileSync(path.join(repoRoot, 'docs/report.schema.json'), 'utf8')).toBe(reportJsonSchemaText());
  });

  const trees = readdirSync(fixtures);
  it('every fixture tree gives a valid report', { timeout: 60_000 }, async () => {
    expect(trees.length).toBeGreaterThanOrEqual(3);
    for (const t of trees) {
      const r = await report(['--root', path.join(fixtures, t)]);
      expect([0, 1], t).toContain(r.code);
      const parsed = ReportSchema.safeParse(r.json);
      expect(parsed.success ? [] : parsed.error.issues, t).toEqual([]);
      const doc = r.json as Report;
      expect(doc.schema).toBe(REPORT_SCHEMA_ID);
      expect(Object.keys(doc.sections)).toEqual(['host', 'checks', 'models', 'guests', 'overcommit']);
      expect(doc.sections.host?.status).toBe('ok');
      // A captured tree's checks are judged on its files: ids are the typed ones.
      for (const c of doc.sections.checks?.data?.checks ?? []) expect(CHECK_IDS).toContain(c.id);
    }
  });

  it('a non-x86 tree skips the models section with a reason, and x86 flags are decoded', async () => {
    const ppc = (await report(['--root', path.join(fixtures, 'ppc64le-lpar-pkg-minus1')])).json as Report;
    expect(ppc.sections.models).toMatchObject({ status: 'skipped', data: null, reason: expect.stringMatching(/ppc64/) });
    expect(ppc.sections.host?.data?.features).toBeNull();
    const intel = (await report(['--root', path.join(fixtures, 'old-kernel-hexmask-2s2c2t'), '--only', 'host'])).json as Report;
    expect(Object.keys(intel.sections)).toEqual(['host']);
    const f = intel.sections.host!.data!.features!;
    expect(f.qemu).toContain('sse4.2'); // cpuinfo "sse4_2" in QEMU's spelling
    expect(f.qemu).not.toContain('sse4_2');
  });

  it('the live report is valid, names this host, and its models section agrees with kvm.usable', { timeout: 120_000 }, async () => {
    const r = await report([]);
    const parsed = ReportSchema.safeParse(r.json);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    const doc = r.json as Report;
    expect(doc.host.hostname).toBe(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
    const usable = doc.sections.checks?.data?.checks.find((c) => c.id === 'kvm.usable');
    expect(usable).toBeDefined();
    // One guest scan serves guests and overcommit: the same processes in both.
    const pids = (doc.sections.guests?.data?.guests ?? []).map((g) => g.pid);
    expect((doc.sections.overcommit?.data?.guests ?? []).map((g) => g.pid)).toEqual(pids);
    const models = doc.sections.models!.data!;
    if (usable!.status === 'PASS') {
      expect(models.kvmUsable).toBe(true);
      expect(models.accel).toBe('kvm');
    } else {
      expect(models.kvmUsable).not.toBe(true);
      expect(models.accel).toBe('tcg');
    }
  });

  it('refuses documents that break the contract', async () => {
    const good = (await report(['--root', path.join(fixtures, 'this-machine-amd-epyc-2c'), '--only', 'host,checks'])).json as Report;
    expect(ReportSchema.safeParse(good).success).toBe(true);
    // [what, dotted path, new value (undefined = delete the field)]
    const broken: [string, string, unknown][] = [
      ['other schema id', 'schema', 'kvcpu/report/2'],
      ['unknown check id', 'sections.checks.data.checks.0.id', 'kvm.nonsense'],
      ['bad check status', 'sections.checks.data.checks.0.status', 'OK'],
      ['bad section status', 'sections.host.status', 'fine'],
      ['topology without sockets', 'sections.host.data.topology.sockets', undefined],
      ['identity missing', 'host', undefined],
    ];
    for (const [what, at, value] of broken) {
      const d = structuredClone(good) as unknown as Record<string, unknown>;
      const keys = at.split('.');
      const last = keys.pop()!;
      const parent = keys.reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, d);
      expect(parent, what).toHaveProperty(last);
      if (value === undefined) delete parent[last];
      else parent[last] = value;
      expect(ReportSchema.safeParse(d).success, what).toBe(false);
    }
  });

  it('one host read serves every section of a report', async () => {
    const root = path.join(fixtures, 'old-kernel-hexmask-2s2c2t');
    const host = memoHost(root);
    expect(host()).toBe(host());
    // A section given the report's host uses it instead of reading the root again.
    const other = readHost({ root: path.join(fixtures, 'this-machine-amd-epyc-2c') });
    const s = await collectHostSection({ root, live: false, color: false, host: () => other });
    expect(s.data?.cpu.vendor).toBe('AuthenticAMD');
    const broken = memoHost('/nonexistent-kvcpu-root');
    expect(() => broken()).toThrow(expect.objectContaining({ code: 'E_SYSFS_MISSING' }));
    expect(() => broken()).toThrow(expect.objectContaining({ code: 'E_SYSFS_MISSING' }));
  });
});
