import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

/** Run the kvcpu CLI in-process with buffered output. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), color: false, stdin: Readable.from([]) });
  return { code, out, err };
}
