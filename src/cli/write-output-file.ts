import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { KvcpuError } from '../core/errors.ts';

/**
 * Write a command's whole output to FILE (`--output FILE`): into a temporary file in the same
 * folder, then renamed over FILE, so a reader (or the ticket it is attached to) never sees half a
 * page and a failed write leaves FILE as it was. Throws E_OUTPUT_WRITE.
 */
export function writeOutputFile(path: string, text: string): void {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new KvcpuError('E_OUTPUT_WRITE', `cannot write ${target}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' '), {
      hint: 'give --output a path in a writable folder, or omit it to print to stdout',
      details: { path: target, errno: err.code ?? null },
    });
  }
}
