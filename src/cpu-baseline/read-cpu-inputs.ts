import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readAll } from '../io/read-stream.ts';
import { KvcpuError } from '../core/errors.ts';
import type { CpuDef } from './cpu-def.ts';
import { parseCpuInput, parseCpuinfoCpu } from './parse-cpu-input.ts';
import type { X86Map } from './x86-map.ts';

/** Read input files (`-` = stdin) and parse every CPU definition they hold, in order. */
export async function readCpuInputs(x: X86Map, paths: string[], stdin: NodeJS.ReadableStream): Promise<CpuDef[]> {
  const defs: CpuDef[] = [];
  let stdinUsed = false;
  for (const p of paths) {
    let text: string;
    if (p === '-') {
      if (stdinUsed) throw new KvcpuError('E_USAGE', 'stdin (-) given twice', { hint: 'concatenate inputs into one stream instead' });
      stdinUsed = true;
      text = await readAll(stdin);
    } else text = readTextFile(p);
    defs.push(...parseCpuInput(x, text, p === '-' ? 'stdin' : p));
  }
  return defs;
}

export function readTextFile(p: string): string {
  if (!existsSync(p)) throw new KvcpuError('E_NOT_FOUND', `${p}: no such file`, { hint: 'check the path' });
  if (statSync(p).isDirectory()) throw new KvcpuError('E_BAD_INPUT', `${p} is a directory`, { hint: 'give files, not directories' });
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    throw new KvcpuError('E_IO', `cannot read ${p}: ${(e as Error).message}`, { cause: e });
  }
}

/** This host's CPU from `<root>/proc/cpuinfo` (what `virsh cpu-compare` would decode from CPUID). */
export function readLiveHostCpu(x: X86Map, root = '/'): CpuDef {
  const path = join(root, 'proc/cpuinfo');
  if (!existsSync(path)) {
    throw new KvcpuError('E_PROCFS_MISSING', `${path} not found`, { hint: 'is /proc mounted? or pass --host FILE' });
  }
  const def = parseCpuinfoCpu(x, readFileSync(path, 'utf8'), root === '/' ? 'this host' : `host at ${root}`);
  return def;
}
