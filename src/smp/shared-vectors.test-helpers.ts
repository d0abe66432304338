import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One QEMU 7.2 answer from ../shared/reference/qemu-smp/vectors-qemu-7.2.jsonl (see its README). */
export interface SmpVector {
  id: string;
  category: string;
  machine: string | null;
  machine_resolved: string;
  accel: 'tcg' | 'kvm';
  smp_args: string[];
  ok: boolean;
  result: { cpus: number; maxcpus: number; sockets: number; dies: number; clusters: number; cores: number; threads: number } | null;
  error: string | null;
  error_location: string | null;
  warnings_smp: string[];
  qemu_quirk: string | null;
  slots: [number, number | null, number, number, number][] | null;
  present: [number, number, number | null, number, number, number][];
  host_dependent: boolean;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SMP_VECTORS_DIR = resolve(repoRoot, '../shared/reference/qemu-smp');

/** The shared vectors, or null when the reference folder is absent (tests skip then). */
export function loadSmpVectors(): SmpVector[] | null {
  const file = resolve(SMP_VECTORS_DIR, 'vectors-qemu-7.2.jsonl');
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SmpVector);
}
