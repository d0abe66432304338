import { readFileSync } from 'node:fs';
import { KvcpuError } from '../core/errors.ts';
import { parseJsonText } from '../core/parse-json.ts';
import { parseHostSnapshotJson } from '../host/host-json.ts';
import type { HostSnapshot } from '../host/types.ts';

/**
 * A host snapshot from `kvcpu host --json` output (the `--host FILE` of topology suggest and
 * plan; a request body in the agent): read `path` unless `text` is given, then parse and
 * validate it against HostSnapshotSchema. E_IO, E_BAD_JSON or E_BAD_INPUT naming the file.
 */
export function loadHostSnapshot(path: string, text?: string): HostSnapshot {
  let raw: string;
  try {
    raw = text ?? readFileSync(path, 'utf8');
  } catch (e) {
    throw new KvcpuError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { hint: 'write one with `kvcpu host --json > host.json`', cause: e });
  }
  return parseHostSnapshotJson(parseJsonText(raw, path), path);
}
