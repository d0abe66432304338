import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chooseNovaTopology, getNovaConstraints, getNovaPossibleTopologies, novaTopologyWarnings, sortNovaTopologies, type Sct } from './nova-topology.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const casesFile = resolve(repoRoot, '../shared/reference/nova/topology-cases.jsonl');

interface TopoCase {
  id: string;
  kind: 'best' | 'constraints' | 'possible' | 'sorted';
  vcpus: number;
  flavor_extra_specs?: Record<string, string>;
  image_properties?: Record<string, string | number>;
  allow_threads?: boolean;
  maximum?: Sct;
  preferred?: Sct;
  expected: { best?: Sct; ranked?: Sct[]; preferred?: Sct; maximum?: Sct; error?: string };
}

const cases: TopoCase[] = existsSync(casesFile)
  ? readFileSync(casesFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as TopoCase)
  : [];

describe.skipIf(cases.length === 0)(`Nova 26.2.2 topology cases (${casesFile})`, () => {
  it('has the shared cases', () => expect(cases.length).toBeGreaterThan(50));
  it.each(cases.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const req = { vcpus: c.vcpus, flavorExtraSpecs: c.flavor_extra_specs, imageProperties: c.image_properties, allowThreads: c.allow_threads };
    const exp = c.expected;
    switch (c.kind) {
      case 'best': {
        const r = chooseNovaTopology(req);
        if (exp.error) {
          expect(r.ok ? r.best : r.error).toBe(exp.error);
          if (!r.ok && exp.preferred) expect([r.preferred, r.maximum]).toEqual([exp.preferred, exp.maximum]);
        } else {
          expect(r).toMatchObject({ ok: true, best: exp.best, ranked: exp.ranked, preferred: exp.preferred, maximum: exp.maximum });
        }
        break;
      }
      case 'constraints': {
        const r = getNovaConstraints(req);
        if (exp.error) expect(r.ok ? 'ok' : r.error).toBe(exp.error);
        else expect(r).toEqual({ ok: true, preferred: exp.preferred, maximum: exp.maximum });
        break;
      }
      case 'possible':
      case 'sorted': {
        const r = getNovaPossibleTopologies(c.vcpus, c.maximum!, c.allow_threads ?? true);
        if (exp.error) {
          expect(r.ok ? 'ok' : r.error).toBe(exp.error);
          break;
        }
        if (!r.ok) throw new Error(r.message);
        const list = c.kind === 'sorted' ? sortNovaTopologies(r.possible, c.preferred!) : r.possible;
        expect(list).toEqual(exp.ranked);
        break;
      }
    }
  });
});

describe('Nova topology rules (independent of the shared cases)', () => {
  it('no settings: vcpus sockets x 1 x 1', () => {
    const r = chooseNovaTopology({ vcpus: 8 });
    expect(r.ok && r.best).toEqual([8, 1, 1]);
  });
  it('hw:cpu_sockets=1 gives cores before threads', () => {
    const r = chooseNovaTopology({ vcpus: 8, flavorExtraSpecs: { 'hw:cpu_sockets': '1' } });
    expect(r.ok && r.best).toEqual([1, 8, 1]);
  });
  it('ranked lists each factorisation exactly once and all multiply to vcpus', () => {
    for (const v of [1, 7, 12, 36, 64]) {
      const r = chooseNovaTopology({ vcpus: v });
      if (!r.ok) throw new Error(r.message);
      expect(new Set(r.ranked.map((t) => t.join())).size).toBe(r.ranked.length);
      for (const t of r.ranked) expect(t[0] * t[1] * t[2]).toBe(v);
    }
  });
  it('accepts Python int() spellings and rejects the rest with InvalidRequest', () => {
    expect(chooseNovaTopology({ vcpus: 4, flavorExtraSpecs: { 'hw:cpu_sockets': ' 2 ' } })).toMatchObject({ best: [2, 2, 1] });
    expect(chooseNovaTopology({ vcpus: 4, flavorExtraSpecs: { 'hw:cpu_sockets': '2.0' } })).toMatchObject({ error: 'InvalidRequest' });
    expect(chooseNovaTopology({ vcpus: 4, flavorExtraSpecs: { 'hw:cpu_max_threads': '' } })).toMatchObject({ error: 'InvalidRequest' });
  });
  it('warns about the hw:max_cpu_* validator trap and dropped preferences', () => {
    const req = { vcpus: 8, flavorExtraSpecs: { 'hw:max_cpu_sockets': '2', 'hw:cpu_sockets': '4', 'hw:cpu_max_sockets': '2' } };
    const r = chooseNovaTopology(req);
    expect(r.ok && r.best).toEqual([2, 4, 1]);
    const w = novaTopologyWarnings(req, r).join('\n');
    expect(w).toMatch(/hw:max_cpu_sockets .*ignores it/);
    expect(w).toMatch(/silently dropped/);
    expect(w).toMatch(/2120862/);
  });
});
