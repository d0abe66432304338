import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseCpulist } from '../core/cpulist.ts';
import { KvcpuError } from '../core/errors.ts';
import type { CpuDef } from '../cpu-baseline/cpu-def.ts';
import { parseCpuInput } from '../cpu-baseline/parse-cpu-input.ts';
import type { X86Map } from '../cpu-baseline/x86-map.ts';
import { readHost } from '../host/read-host.ts';
import type { HostSnapshot } from '../host/types.ts';
import { buildFleetRecord, type FleetRecord, type FleetSource, type RecordFacts } from './fleet-record.ts';
import { REPORT_SCHEMA_ID, ReportSchema } from './report-schema.ts';

/** Inputs larger than this are refused before they are read: no host report comes near it. */
export const MAX_FLEET_INPUT_BYTES = 16 * 1024 * 1024;

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** A host name as the fleet keys it: printable, no path separators, bounded. */
export function checkHostName(name: string, where: string): string {
  const n = name.trim();
  // eslint-disable-next-line no-control-regex
  if (n === '' || n.length > 253 || /[\u0000-\u001f\u007f/\\]/.test(n)) {
    throw new KvcpuError('E_FLEET_BAD_HOST', `${where}: ${JSON.stringify(name)} is not a usable host name`, {
      hint: 'host names are 1–253 printable characters without / or \\',
    });
  }
  return n;
}

function checksOf(data: unknown): RecordFacts['checks'] {
  const list = isObj(data) && Array.isArray(data.checks) ? data.checks : [];
  const out: RecordFacts['checks'] = [];
  for (const c of list) {
    if (isObj(c) && typeof c.id === 'string' && (c.status === 'PASS' || c.status === 'WARN' || c.status === 'FAIL' || c.status === 'SKIP')) {
      out.push({ id: c.id, status: c.status });
    }
  }
  return out;
}

function topologyOf(snap: Json): RecordFacts['topology'] {
  const t = snap.topology;
  if (!isObj(t) || typeof t.sockets !== 'number' || typeof t.threadsPerCore !== 'number') return null;
  const cpus = isObj(snap.cpus) ? snap.cpus : {};
  let online: number;
  try {
    online = typeof cpus.online === 'string' ? parseCpulist(cpus.online).length : 0;
  } catch {
    online = 0;
  }
  const numa = isObj(snap.numa) && Array.isArray(snap.numa.nodes) ? snap.numa.nodes.length : 0;
  return {
    sockets: Math.max(0, Math.trunc(t.sockets)),
    coresPerSocket: typeof t.coresPerSocket === 'number' ? t.coresPerSocket : null,
    threadsPerCore: Math.max(0, Math.trunc(t.threadsPerCore)),
    onlineCpus: online,
    numaNodes: numa,
  };
}

function identityOf(...where: unknown[]): { hostname: string | null; machineId: string | null } {
  let hostname: string | null = null;
  let machineId: string | null = null;
  for (const w of where) {
    if (!isObj(w)) continue;
    const id = isObj(w.identity) ? w.identity : w;
    hostname ??= str(id.hostname);
    machineId ??= str(id.machineId);
  }
  return { hostname, machineId };
}

function modelNameOf(snap: Json): string | null {
  const cpu = isObj(snap.cpu) ? snap.cpu : {};
  return Array.isArray(cpu.modelNames) ? (str(cpu.modelNames[0]) ?? null) : null;
}

interface Parsed {
  defs: CpuDef[];
  facts: Omit<RecordFacts, 'name'> & { name: string | null };
}

/** A `kvcpu report --json` document: {kvcpuVersion, generatedAt, sections:{host:{data}, checks:{data}, ...}}. */
function fromReport(x: X86Map, o: Json, label: string): Parsed {
  // A versioned report is held to its schema: the fleet's stored row is that contract.
  if (o.schema === REPORT_SCHEMA_ID) {
    const r = ReportSchema.safeParse(o);
    if (!r.success) {
      const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(report)'}: ${i.message}`);
      throw new KvcpuError('E_FLEET_BAD_REPORT', `${label}: not a valid ${REPORT_SCHEMA_ID} report: ${issues.join('; ')}`, {
        hint: 'send what `kvcpu report --json` prints (or GET /api/v1/report of an agent)',
      });
    }
  } else if (typeof o.schema === 'string') {
    throw new KvcpuError('E_FLEET_BAD_REPORT', `${label}: report schema ${JSON.stringify(o.schema)} is not one this kvcpu reads (${REPORT_SCHEMA_ID})`, {
      hint: 'upgrade kvcpu on the fleet server, or send reports of the same kvcpu version',
    });
  }
  const sections = isObj(o.sections) ? o.sections : {};
  const data = (id: string): unknown => (isObj(sections[id]) ? (sections[id] as Json).data : undefined);
  const host = data('host');
  if (!isObj(host) || !isObj(host.cpu)) {
    throw new KvcpuError('E_FLEET_BAD_REPORT', `${label}: the report has no host section`, {
      hint: 'import reports made with `kvcpu report --json` (the host section is needed)',
    });
  }
  const defs = parseCpuInput(x, JSON.stringify(host), label);
  const ps = data('guests');
  const oc = data('overcommit');
  const guests =
    isObj(ps) && Array.isArray(ps.guests)
      ? { count: ps.guests.length, vcpus: ps.guests.reduce((s: number, g) => s + (isObj(g) && typeof g.vcpus === 'number' && g.vcpus > 0 ? g.vcpus : 0), 0) }
      : null;
  const overcommit =
    isObj(oc) && typeof oc.ratio === 'number' && typeof oc.hostCpus === 'number' && typeof oc.guestVcpus === 'number'
      ? { ratio: Math.max(0, oc.ratio), hostCpus: Math.max(0, Math.trunc(oc.hostCpus)), guestVcpus: Math.max(0, Math.trunc(oc.guestVcpus)) }
      : null;
  const id = identityOf(o, o.host, host);
  return {
    defs,
    facts: {
      name: id.hostname,
      machineId: id.machineId,
      hostname: id.hostname,
      source: 'report',
      kvcpuVersion: str(o.kvcpuVersion),
      generatedAt: str(o.generatedAt),
      modelName: modelNameOf(host),
      topology: topologyOf(host),
      checks: checksOf(data('checks')),
      guests,
      overcommit,
      report: o,
    },
  };
}

function fromSnapshot(x: X86Map, snap: HostSnapshot | Json, label: string, source: FleetSource, hostname: string | null): Parsed {
  const s = snap as Json;
  const defs = parseCpuInput(x, JSON.stringify(s), label);
  const id = identityOf(s);
  return {
    defs,
    facts: {
      name: hostname ?? id.hostname,
      machineId: id.machineId,
      hostname: hostname ?? id.hostname,
      source,
      kvcpuVersion: null,
      generatedAt: null,
      modelName: modelNameOf(s),
      topology: topologyOf(s),
      checks: [],
      guests: null,
      overcommit: null,
      report: null,
    },
  };
}

function bare(defs: CpuDef[], source: FleetSource): Parsed {
  return {
    defs,
    facts: {
      name: null,
      machineId: null,
      hostname: null,
      source,
      kvcpuVersion: null,
      generatedAt: null,
      modelName: null,
      topology: null,
      checks: [],
      guests: null,
      overcommit: null,
      report: null,
    },
  };
}

/** Parse one input text (auto-detected like `kvcpu cpu baseline`), plus a report's or host JSON's facts. */
export function parseFleetText(x: X86Map, text: string, label: string): Parsed {
  const t = text.trim();
  if (t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new KvcpuError('E_BAD_JSON', `${label} is not valid JSON: ${(e as Error).message}`, { hint: 'check the file with `jq . FILE`' });
    }
    if (isObj(v) && isObj(v.sections)) return fromReport(x, v, label);
    if (isObj(v) && isObj(v.cpu) && Array.isArray(v.cpu.flags)) return fromSnapshot(x, v, label, 'host-json', null);
  }
  const defs = parseCpuInput(x, t, label);
  const kind = defs[0]?.kind;
  return bare(defs, kind === 'libvirt-xml' ? 'libvirt-xml' : kind === 'kvcpu-json' ? 'kvcpu-json' : kind === 'host-json' ? 'host-json' : 'cpuinfo');
}

/** A report pushed by an agent (already JSON-parsed): its records, named by the report's hostname. */
export function recordsFromReport(x: X86Map, v: unknown, where: string): FleetRecord[] {
  if (!isObj(v) || !isObj(v.sections)) {
    throw new KvcpuError('E_FLEET_BAD_REPORT', `${where}: not a kvcpu report (no sections)`, { hint: 'send what `kvcpu report --json` prints' });
  }
  const parsed = fromReport(x, v, where);
  if (!parsed.facts.name)
    throw new KvcpuError('E_FLEET_BAD_REPORT', `${where}: the report names no host (host.hostname is null)`, {
      hint: 'set the host name (hostnamectl) or import the file, which is named by its stem',
    });
  return finish(x, parsed, parsed.facts.name, where);
}

/** True when `dir` is a `kvcpu capture` tree (or any /proc+/sys root). */
export function isCaptureTree(dir: string): boolean {
  return existsSync(path.join(dir, 'proc/cpuinfo')) || existsSync(path.join(dir, 'sys/devices/system/cpu'));
}

/** The file's stem: `db-17.json` → `db-17`, `web1.cpuinfo` → `web1`. */
export function fileStem(p: string): string {
  const b = path.basename(p);
  const dot = b.indexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

function finish(x: X86Map, parsed: Parsed, fallbackName: string, where: string): FleetRecord[] {
  const hostDefs = parsed.defs;
  if (hostDefs.length === 0)
    throw new KvcpuError('E_CPU_NO_INPUT', `${where}: no CPU definition found`, { hint: 'give a report, host JSON, capture tree, CPU XML or cpuinfo' });
  return hostDefs.map((def, i) => {
    const base = parsed.facts.name ?? fallbackName;
    const name = checkHostName(hostDefs.length > 1 ? `${base}#${i + 1}` : base, where);
    return buildFleetRecord(x, def, { ...parsed.facts, name });
  });
}

/** Read one fleet input: a file of any kind `cpu baseline` accepts, a report, or a capture tree. */
export function readFleetInput(x: X86Map, p: string): FleetRecord[] {
  if (!existsSync(p)) throw new KvcpuError('E_NOT_FOUND', `${p}: no such file or directory`, { hint: 'check the path' });
  const st = statSync(p);
  if (st.isDirectory()) {
    if (!isCaptureTree(p))
      throw new KvcpuError('E_BAD_INPUT', `${p} is a directory but not a capture tree`, { hint: 'folders are walked by `fleet import`; give it the folder' });
    const snap = readHost({ root: p });
    let hostname: string | null;
    try {
      hostname = readFileSync(path.join(p, 'proc/sys/kernel/hostname'), 'utf8').trim() || null;
    } catch {
      hostname = null;
    }
    const parsed = fromSnapshot(x, snap, p, 'capture', hostname);
    try {
      parsed.facts.machineId = readFileSync(path.join(p, 'etc/machine-id'), 'utf8').trim() || parsed.facts.machineId;
    } catch {
      // Captures made before kvcpu recorded machine-id have none: the host is known by name.
    }
    return finish(x, parsed, path.basename(path.resolve(p)), p);
  }
  if (st.size > MAX_FLEET_INPUT_BYTES) {
    throw new KvcpuError('E_FLEET_TOO_LARGE', `${p} is ${st.size} bytes, over the ${MAX_FLEET_INPUT_BYTES}-byte limit`, {
      hint: 'a host report is a few hundred kilobytes at most: is this the right file?',
    });
  }
  const text = readFileSync(p, 'utf8');
  return finish(x, parseFleetText(x, text, p), fileStem(p), p);
}
