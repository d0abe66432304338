import { KvcpuError } from './errors.ts';

/** Parse JSON text or throw E_BAD_JSON naming where it came from. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KvcpuError('E_BAD_JSON', `${where} is not valid JSON: ${(e as Error).message}`, {
      hint: 'check the file with `jq . FILE`',
      cause: e,
    });
  }
}
