// Nova cases (`kvcpu plan nova CASE.json`, --batch lines, the library's parseNovaCase) are
// checked by zod schemas of Nova's NUMACell / InstanceNUMACell shapes: every bad field is
// E_BAD_INPUT naming it; an out-of-range CPU number is E_CPULIST_RANGE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKvcpuError } from '../src/core/errors.ts';
import { parseNovaCase } from '../src/plan/nova-case.ts';
import { parseNovaUsageCase } from '../src/plan/nova-usage.ts';
import { runCli } from './support/run-cli.ts';

const cell = {
  id: 0,
  cpuset: [],
  pcpuset: [0, 1, 2, 3],
  siblings: [
    [0, 1],
    [2, 3],
  ],
  memory: 4096,
  memory_usage: 0,
  cpu_usage: 0,
  pinned_cpus: [],
  mempages: [],
};
const inst = { cpuset: [], pcpuset: [0, 1], memory: 1024, pagesize: null, cpu_policy: 'dedicated', cpu_thread_policy: null };
const fitCell = { kind: 'fit_cell', host_cell: cell, instance_cell: inst };
const fitHost = { kind: 'fit_host', host: { cells: [cell] }, instance: { cells: [inst], emulator_threads_policy: null } };

function failure(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isKvcpuError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('Nova case schema', () => {
  it('good cases parse, with defaults filled', () => {
    expect(parseNovaCase(fitCell)).toMatchObject({ kind: 'fit_cell', host_cell: { id: 0, pcpuset: [0, 1, 2, 3] }, instance_cell: { cpu_policy: 'dedicated' } });
    expect(parseNovaCase({ ...fitHost, host: { cells: [{ id: 1, cpuset: [4, 5] }] } })).toMatchObject({
      kind: 'fit_host',
      host: { cells: [{ id: 1, pcpuset: [4, 5], memory: 0, siblings: [] }] },
    });
  });

  const bad: [string, unknown, string][] = [
    ['a negative memory', { ...fitCell, host_cell: { ...cell, memory: -1 } }, 'host_cell.memory'],
    ['an unknown cpu_policy', { ...fitCell, instance_cell: { ...inst, cpu_policy: 'pinned' } }, 'instance_cell.cpu_policy'],
    ['a cpu_policy object', { ...fitCell, instance_cell: { ...inst, cpu_policy: { toString: false } } }, 'instance_cell.cpu_policy'],
    ['a float CPU', { ...fitCell, host_cell: { ...cell, pcpuset: [0.5] } }, 'host_cell.pcpuset[0]'],
    ['siblings not lists', { ...fitCell, host_cell: { ...cell, siblings: [1, 2] } }, 'host_cell.siblings[0]'],
    ['a mempage without size', { ...fitCell, host_cell: { ...cell, mempages: [{ total: 4 }] } }, 'host_cell.mempages[0].size_kb'],
    ['pinning not pairs', { ...fitCell, instance_cell: { ...inst, pinning: [[0, 1, 2]] } }, 'instance_cell.pinning[0]'],
    ['host.cells not a list', { ...fitHost, host: { cells: {} } }, 'host.cells'],
    ['no instance cells', { ...fitHost, instance: { cells: [] } }, 'instance.cells'],
    ['a bad emulator policy', { ...fitHost, instance: { cells: [inst], emulator_threads_policy: 'dedicated' } }, 'instance.emulator_threads_policy'],
    ['a second host cell without id', { ...fitHost, host: { cells: [cell, { ...cell, id: 'one' }] } }, 'host.cells[1].id'],
    [
      'a packing strategy that is not a boolean',
      { ...fitHost, config: { packing_host_numa_cells_allocation_strategy: 1 } },
      'config.packing_host_numa_cells_allocation_strategy',
    ],
    ['a negative allocation ratio', { ...fitHost, limits: { cpu_allocation_ratio: -2 } }, 'limits.cpu_allocation_ratio'],
    ['an unknown kind', { ...fitHost, kind: 'fit_rack' }, 'kind'],
  ];
  it.each(bad)('%s: E_BAD_INPUT naming %s', (_what, doc, field) => {
    const e = failure(() => parseNovaCase(doc));
    expect(e.code).toBe('E_BAD_INPUT');
    expect(e.message.startsWith(`Nova case: ${field} `)).toBe(true);
  });

  it('CPU numbers past the limit are E_CPULIST_RANGE (shape is fine, the number is not)', () => {
    expect(failure(() => parseNovaCase({ ...fitCell, host_cell: { ...cell, pcpuset: [8192] } })).code).toBe('E_CPULIST_RANGE');
    expect(failure(() => parseNovaCase({ ...fitCell, instance_cell: { ...inst, pinning: [[0, 1e12]] } })).code).toBe('E_CPULIST_RANGE');
  });

  it('usage cases go through the same cell schemas', () => {
    const e = failure(() => parseNovaUsageCase({ kind: 'usage', host: { cells: [{ ...cell, cpu_usage: 'lots' }] }, instance: { cells: [inst] } }));
    expect(e.code).toBe('E_BAD_INPUT');
    expect(e.message).toContain('host.cells[0].cpu_usage');
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'kvt-startup-nova-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('kvcpu plan nova CASE.json with a bad case: exit 2 and the coded JSON error', async () => {
    const file = path.join(dir, 'case.json');
    writeFileSync(file, JSON.stringify({ ...fitCell, instance_cell: { ...inst, cpu_thread_policy: 'always' } }));
    const r = await runCli(['plan', 'nova', file]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
    expect(out).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    expect(out.error.message).toContain('instance_cell.cpu_thread_policy');
  });
});
