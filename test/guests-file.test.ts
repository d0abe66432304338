// `kvcpu plan --guests FILE` is checked by a zod schema (app/guests-file.ts, the agent's own
// PlanGuestSpecSchema): bad documents give E_BAD_INPUT naming the field, through the CLI too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGuestsFile } from '../src/app/guests-file.ts';
import { isKvcpuError } from '../src/core/errors.ts';
import { runCli } from './support/run-cli.ts';

function codeOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isKvcpuError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('guests file schema', () => {
  it('accepts a list and {"guests": [...]}, with the guest rules of --guest', () => {
    const a = parseGuestsFile([
      { name: 'g1', vcpus: 4, policy: 'shared' },
      { vcpus: '2', numa: 'auto', l3: 'no' },
    ]);
    expect(a.map((g) => [g.name, g.vcpus, g.policy, g.numa, g.l3])).toEqual([
      ['g1', 4, 'shared', 1, true],
      ['guest2', 2, 'dedicated', 'auto', false],
    ]);
    expect(parseGuestsFile({ guests: [{ name: 'x', vcpus: 3, threads: 'isolate' }] })[0]).toMatchObject({ name: 'x', vcpus: 3, threads: 'isolate' });
  });

  const bad: [string, unknown, RegExp][] = [
    ['not a list', { nope: 1 }, /\(document\)|guests/],
    ['a number', 42, /\(document\)/],
    ['missing vcpus', [{ name: 'g1' }], /\[0\]\.vcpus/],
    ['vcpus 0', [{ name: 'g1', vcpus: 0 }], /\[0\]\.vcpus/],
    ['vcpus a float', [{ name: 'g1', vcpus: 2.5 }], /\[0\]\.vcpus/],
    ['unknown policy', [{ vcpus: 2 }, { vcpus: 2, policy: 'pinned' }], /\[1\]\.policy/],
    ['unknown key', [{ vcpus: 2, cpus: 4 }], /\[0\]/],
    ['mask not a cpulist', [{ vcpus: 2, mask: 'all' }], /\[0\]\.mask/],
    ['threads an object', [{ vcpus: 4, threads: { toString: false } }], /\[0\]\.threads/],
    ['name an object', [{ name: { toString: false }, vcpus: 4 }], /\[0\]\.name/],
    ['wrapped entry bad', { guests: [{ vcpus: -1 }] }, /guests\[0\]\.vcpus/],
    ['extra wrapper key', { guests: [], host: 'x' }, /host|\(document\)/],
  ];
  it.each(bad)('%s: E_BAD_INPUT naming the field', (_what, doc, field) => {
    const e = codeOf(() => parseGuestsFile(doc, 'g.json'));
    expect(e.code).toBe('E_BAD_INPUT');
    expect(e.message).toMatch(/^g\.json is not a list of guests: /);
    expect(e.message).toMatch(field);
  });

  it('the guest rules after the schema still apply (name characters)', () => {
    const e = codeOf(() => parseGuestsFile([{ name: 'a b', vcpus: 2 }]));
    expect(e.code).toBe('E_BAD_INPUT');
    expect(e.message).toMatch(/mangle/);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'kvt-startup-guests-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('kvcpu plan --guests with a bad file: exit 2, E_BAD_INPUT in the JSON error, nothing planned', async () => {
    const file = path.join(dir, 'guests.json');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'g1', vcpus: 2 },
        { name: 'g2', vcpus: 'many' },
      ]),
    );
    const r = await runCli(['plan', '--guests', file, '--json']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
    expect(out.ok).toBe(false);
    expect(out.error.code).toBe('E_BAD_INPUT');
    expect(out.error.message).toContain('[1].vcpus');
  });
});
