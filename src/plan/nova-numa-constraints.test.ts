import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getNovaNumaConstraints, parseNovaCpuSpec, parseNovaFlavorRequest, type NovaFlavorRequest } from './nova-numa-constraints.ts';
import { PySet, stringToBytes } from '../core/python-semantics.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const file = path.resolve(repoRoot, '../shared/reference/nova/pinning-cases.jsonl');
const have = existsSync(file);
type Case = Record<string, any>;
const all: Case[] = have
  ? readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
  : [];
const constraintCases = all.filter((d) => d.kind === 'constraints');
const flavorCases = all.filter((d) => d.flavor && d.instance);

describe.skipIf(!have)('Nova 26.2.2 numa_get_constraints (shared cases)', () => {
  it('has the cases', () => {
    expect(constraintCases.length).toBeGreaterThanOrEqual(58);
    expect(flavorCases.length).toBeGreaterThan(50);
  });

  it.each(constraintCases.map((d) => [d.id as string, d]))('%s: same guest NUMA request or the same exception', (_id, d) => {
    const got = getNovaNumaConstraints(parseNovaFlavorRequest(d));
    if (d.expected.error) {
      expect(got).toEqual({ error: d.expected.error, message: d.expected.message });
    } else {
      expect(got).toEqual({ instance: d.expected.instance });
    }
  });

  it.each(flavorCases.map((d) => [d.id as string, d]))('%s: the random case flavor yields the case instance', (_id, d) => {
    const got = getNovaNumaConstraints(parseNovaFlavorRequest({ ...d.flavor, image_properties: d.image_properties }));
    expect(got).toEqual({ instance: d.instance });
  });
});

const req = (flavor: Record<string, string>, image: Record<string, unknown> = {}, vcpus = 4, memory_mb = 2048): NovaFlavorRequest => ({
  vcpus,
  memory_mb,
  flavor_extra_specs: flavor,
  image_properties: image,
});

// Answers below were produced by Nova 26.2.2 itself (Debian python3-nova, /usr/bin/python3,
// nova.virt.hardware.numa_get_constraints) for these exact inputs.
describe('numa_get_constraints rules (own cases, answered by live Nova 26.2.2)', () => {
  it('walks a cell CPU list in CPython set order: {5,8} reports 8 out of range before 5 duplicated', () => {
    const got = getNovaNumaConstraints(
      req({ 'hw:numa_nodes': '2', 'hw:numa_cpus.0': '0-5', 'hw:numa_cpus.1': '5,8', 'hw:numa_mem.0': '1024', 'hw:numa_mem.1': '1024' }, {}, 8),
    );
    expect(got).toEqual({ error: 'ImageNUMATopologyCPUOutOfRange', message: 'CPU number 8 is larger than max 7' });
  });

  it('a page size alone gives a NUMA topology, even one that truncates to 0 or `small` (-1)', () => {
    const cell = { id: 0, cpuset: [0, 1, 2, 3], pcpuset: [], memory: 2048, cpu_policy: null, cpu_thread_policy: null };
    expect(getNovaNumaConstraints(req({ 'hw:mem_page_size': '512B' }))).toEqual({
      instance: { cells: [{ ...cell, pagesize: 0 }], emulator_threads_policy: null },
    });
    expect(getNovaNumaConstraints(req({ 'hw:mem_page_size': 'small' }))).toEqual({
      instance: { cells: [{ ...cell, pagesize: -1 }], emulator_threads_policy: null },
    });
    expect(getNovaNumaConstraints(req({ 'hw:mem_page_size': 'large' }, { hw_mem_page_size: '1GB' }))).toEqual({
      instance: { cells: [{ ...cell, pagesize: 1048576 }], emulator_threads_policy: null },
    });
  });

  it('mixed + realtime: the realtime vCPUs are the pinned ones', () => {
    const got = getNovaNumaConstraints(req({ 'hw:cpu_policy': 'mixed', 'hw:cpu_realtime': 'yes', 'hw:cpu_realtime_mask': '^0-1' }));
    expect(got).toMatchObject({ instance: { cells: [{ cpuset: [0, 1], pcpuset: [2, 3], cpu_policy: 'mixed' }] } });
  });

  it('resources[N]:PCPU = vcpus + 1 with an isolated emulator means dedicated', () => {
    const got = getNovaNumaConstraints(req({ 'resources1:PCPU': '5', 'hw:emulator_threads_policy': 'isolate' }));
    expect(got).toMatchObject({ instance: { cells: [{ pcpuset: [0, 1, 2, 3], cpu_policy: 'dedicated' }], emulator_threads_policy: 'isolate' } });
  });

  it('numa_nodes must be int-like exactly (" 2" is not), image enums are checked by ImageMeta first', () => {
    expect(getNovaNumaConstraints(req({ 'hw:numa_nodes': ' 2' }))).toEqual({
      error: 'InvalidNUMANodesNumber',
      message: "The property 'numa_nodes' cannot be ' 2'. It must be a number greater than 0",
    });
    expect(getNovaNumaConstraints(req({}, { hw_cpu_policy: 'bar' }))).toEqual({ error: 'ValueError', message: 'Field value bar is invalid' });
  });

  it('a CPU map alone asks for nothing; locked memory needs a page size; a trait needs pinning', () => {
    expect(getNovaNumaConstraints(req({ 'hw:numa_cpus.0': '0-3', 'hw:numa_mem.0': '2048' }))).toEqual({ instance: null });
    expect(getNovaNumaConstraints(req({ 'hw:locked_memory': 'true' }))).toMatchObject({ error: 'LockMemoryForbidden' });
    expect(getNovaNumaConstraints(req({ 'trait:HW_CPU_HYPERTHREADING': 'forbidden' }))).toMatchObject({ error: 'CPUThreadPolicyConfigurationInvalid' });
  });

  it('realtime with an isolated emulator may cover every vCPU but the masked one, split over 2 nodes', () => {
    const got = getNovaNumaConstraints(
      req({
        'hw:cpu_policy': 'dedicated',
        'hw:cpu_realtime': 'yes',
        'hw:cpu_realtime_mask': '^0',
        'hw:emulator_threads_policy': 'isolate',
        'hw:numa_nodes': '2',
      }),
    );
    expect(got).toMatchObject({
      instance: {
        cells: [
          { pcpuset: [0, 1], memory: 1024 },
          { pcpuset: [2, 3], memory: 1024 },
        ],
        emulator_threads_policy: 'isolate',
      },
    });
  });
});

describe('Python semantics Nova relies on', () => {
  it('PySet iterates in CPython 3.11 table order (values printed by CPython for the same operations)', () => {
    expect(parseNovaCpuSpec('5,8').values()).toEqual([8, 5]);
    expect(parseNovaCpuSpec('20-20,^258,45,262,89-90,119-119').values()).toEqual([20, 262, 119, 89, 90, 45]);
    expect(parseNovaCpuSpec('89-148,^18-20,1-1,242').values().slice(0, 24)).toEqual([...Array.from({ length: 21 }, (_, i) => 128 + i), 1, 242, 89]);
    const s = PySet.fromIterable([1, 2, 3]);
    s.subtract(PySet.fromIterable([2]));
    expect(s.values()).toEqual([1, 3]);
    expect(s.has(2)).toBe(false);
  });

  it('parse_cpu_spec refusals quote the rule like Python repr', () => {
    expect(getNovaNumaConstraints(req({ 'hw:cpu_policy': 'mixed', 'hw:cpu_dedicated_mask': '2-1' }))).toEqual({
      error: 'Invalid',
      message: "Invalid range expression '2-1'",
    });
    expect(getNovaNumaConstraints(req({ 'hw:cpu_policy': 'mixed', 'hw:cpu_dedicated_mask': "x'y" }))).toEqual({
      error: 'Invalid',
      message: `Invalid inclusion expression "x'y"`,
    });
  });

  it('string_to_bytes (IEC) as oslo.utils reads page sizes', () => {
    expect(stringToBytes('2MB')).toBe(2 * 1024 * 1024);
    expect(stringToBytes('2MiB')).toBe(2 * 1024 * 1024);
    expect(stringToBytes('16b')).toBe(2);
    expect(stringToBytes('4k')).toBeNull();
  });

  it('bad request shapes are E_BAD_INPUT naming the field', () => {
    expect(() => parseNovaFlavorRequest({ vcpus: 0, memory_mb: 1 })).toThrow(/vcpus/);
    expect(() => parseNovaFlavorRequest({ vcpus: 2, memory_mb: 1, flavor_extra_specs: [] })).toThrow(/flavor_extra_specs/);
  });
});
