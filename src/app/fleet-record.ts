import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CpuDef } from '../cpu-baseline/cpu-def.ts';
import { decodeCpu } from '../cpu-baseline/decode-cpu.ts';
import { bitsToNames, cpuData, type X86Map } from '../cpu-baseline/x86-map.ts';

/**
 * What the fleet keeps of one host report: a small summary (identity, topology, readiness,
 * guests) plus the host CPU as libvirt models it. The CPU is stored once per distinct definition
 * (hosts of one generation share it), so fleet-wide pools and baselines read a handful of CPUs,
 * not 10,000 copies of the same feature list.
 */
export const FLEET_HOST_SCHEMA_ID = 'kvcpu/fleet-host/1';

export const FleetSourceSchema = z.enum(['report', 'host-json', 'capture', 'libvirt-xml', 'cpuinfo', 'kvcpu-json']);
export type FleetSource = z.infer<typeof FleetSourceSchema>;

const CheckStatusSchema = z.enum(['PASS', 'WARN', 'FAIL', 'SKIP']);

export const FleetHostSummarySchema = z.object({
  schema: z.literal(FLEET_HOST_SCHEMA_ID),
  name: z.string(),
  machineId: z.string().nullable(),
  hostname: z.string().nullable(),
  source: FleetSourceSchema,
  kvcpuVersion: z.string().nullable(),
  /** When the host made the report (null for inputs without a time, such as cpuinfo). */
  generatedAt: z.string().nullable(),
  cpu: z.object({
    arch: z.string().nullable(),
    vendor: z.string().nullable(),
    family: z.number().int().nullable(),
    model: z.number().int().nullable(),
    stepping: z.number().int().nullable(),
    modelName: z.string().nullable(),
    /** libvirt's name for the CPU (what `virsh capabilities` would say), null when it cannot decode. */
    decodedModel: z.string().nullable(),
    /** Number of libvirt features the CPU has (model features included). */
    featureCount: z.number().int().nonnegative(),
  }),
  topology: z
    .object({
      sockets: z.number().int().nonnegative(),
      coresPerSocket: z.number().int().nonnegative().nullable(),
      threadsPerCore: z.number().int().nonnegative(),
      onlineCpus: z.number().int().nonnegative(),
      numaNodes: z.number().int().nonnegative(),
    })
    .nullable(),
  checks: z.array(z.object({ id: z.string(), status: CheckStatusSchema })),
  guests: z.object({ count: z.number().int().nonnegative(), vcpus: z.number().int().nonnegative() }).nullable(),
  overcommit: z.object({ ratio: z.number().nonnegative(), hostCpus: z.number().int().nonnegative(), guestVcpus: z.number().int().nonnegative() }).nullable(),
});
export type FleetHostSummary = z.infer<typeof FleetHostSummarySchema>;

/** The CPU definition stored for a host, without its label (the host name is the label). */
export const StoredCpuSchema = z.object({
  type: z.enum(['host', 'guest']),
  mode: z.string().nullable(),
  match: z.string().nullable(),
  arch: z.string().nullable(),
  model: z.string().nullable(),
  fallback: z.string().nullable(),
  vendor: z.string().nullable(),
  signature: z.object({ family: z.number().int(), model: z.number().int(), stepping: z.number().int().nullable() }).nullable(),
  features: z.array(z.object({ name: z.string(), policy: z.enum(['require', 'force', 'optional', 'disable', 'forbid']) })),
  kind: z.enum(['libvirt-xml', 'host-json', 'cpuinfo', 'model-name', 'kvcpu-json']),
  notes: z.array(z.string()),
  /** Every libvirt feature the CPU has (model expanded): what `--where feature=` and the matrix read. */
  allFeatures: z.array(z.string()),
});
export type StoredCpu = z.infer<typeof StoredCpuSchema>;

/** One host report ready for the store. */
export interface FleetRecord {
  summary: FleetHostSummary;
  cpu: StoredCpu;
  /** sha256 of the stored CPU: hosts with the same CPU share one row. */
  cpuDigest: string;
  /** sha256 of summary + CPU + the input's own time: the same report imported twice is one row. */
  digest: string;
  /** The input as received when it was a kvcpu report (kept for history and `fleet show`). */
  report: unknown;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Stable JSON: object keys sorted, so equal values always hash alike. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A stored CPU made back into the CpuDef the baseline/pool code takes, labelled by host. */
export function cpuDefOf(cpu: StoredCpu, label: string): CpuDef {
  return {
    type: cpu.type,
    mode: cpu.mode,
    match: cpu.match,
    arch: cpu.arch,
    model: cpu.model,
    fallback: cpu.fallback,
    vendor: cpu.vendor,
    signature: cpu.signature,
    features: cpu.features.map((f) => ({ ...f })),
    label,
    kind: cpu.kind,
    notes: [...cpu.notes],
  };
}

export interface RecordFacts {
  name: string;
  machineId: string | null;
  hostname: string | null;
  source: FleetSource;
  kvcpuVersion: string | null;
  generatedAt: string | null;
  modelName: string | null;
  topology: FleetHostSummary['topology'];
  checks: FleetHostSummary['checks'];
  guests: FleetHostSummary['guests'];
  overcommit: FleetHostSummary['overcommit'];
  report: unknown;
}

/** Build the stored record of one host from its CPU definition and the facts its input gave. */
export function buildFleetRecord(x: X86Map, def: CpuDef, facts: RecordFacts): FleetRecord {
  const bits = cpuData(x, def, 'all');
  const allFeatures = bitsToNames(x, bits);
  let decodedModel: string | null = def.type === 'host' ? null : def.model;
  try {
    decodedModel = decodeCpu(x, bits, def.vendor, { type: 'host', signature: def.signature }).model;
  } catch {
    // A CPU libvirt cannot name (no model fits, e.g. a feature list from a tiny TCG guest) is
    // still a host of the fleet: it simply has no decoded model.
  }
  const cpu: StoredCpu = {
    type: def.type,
    mode: def.mode,
    match: def.match,
    arch: def.arch,
    model: def.model,
    fallback: def.fallback,
    vendor: def.vendor,
    signature: def.signature,
    features: def.features.map((f) => ({ name: f.name, policy: f.policy })),
    kind: def.kind,
    // Notes name the input file: they are per input, not per CPU, so they stay out of the digest.
    notes: [],
    allFeatures,
  };
  const summary: FleetHostSummary = {
    schema: FLEET_HOST_SCHEMA_ID,
    name: facts.name,
    machineId: facts.machineId,
    hostname: facts.hostname,
    source: facts.source,
    kvcpuVersion: facts.kvcpuVersion,
    generatedAt: facts.generatedAt,
    cpu: {
      arch: def.arch,
      vendor: def.vendor,
      family: def.signature?.family ?? null,
      model: def.signature?.model ?? null,
      stepping: def.signature?.stepping ?? null,
      modelName: facts.modelName,
      decodedModel,
      featureCount: allFeatures.length,
    },
    topology: facts.topology,
    checks: facts.checks,
    guests: facts.guests,
    overcommit: facts.overcommit,
  };
  const cpuDigest = sha256(canonicalJson(cpu));
  return { summary, cpu, cpuDigest, digest: sha256(canonicalJson({ summary, cpuDigest })), report: facts.report };
}
