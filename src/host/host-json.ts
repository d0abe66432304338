import { z } from 'zod';
import { KvcpuError } from '../core/errors.ts';
import { HostSnapshotSchema } from './host-schema.ts';
import type { HostSnapshot } from './types.ts';

/**
 * The one reader of host JSON (`--host FILE` of topology suggest, plan, cpu compare/baseline,
 * models pools): a `kvcpu host --json` snapshot, the same wrapped as {host}, {snapshot} or
 * {data}, or a whole kvcpu/report/1 document (its sections.host.data).
 */
function unwrap(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if ('cpu' in o) return o;
  const sections = o.sections as Record<string, { data?: unknown } | undefined> | undefined;
  if (typeof o.schema === 'string' && o.schema.startsWith('kvcpu/report/') && sections?.host?.data) return sections.host.data;
  return o.host ?? o.snapshot ?? o.data ?? o;
}

function issues(e: z.ZodError): string {
  const list = e.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  return list.join('; ') + (e.issues.length > 4 ? `; and ${e.issues.length - 4} more` : '');
}

/** A full host snapshot (topology, NUMA, per-CPU rows): E_BAD_INPUT naming the bad fields otherwise. */
export function parseHostSnapshotJson(value: unknown, where: string): HostSnapshot {
  const r = HostSnapshotSchema.safeParse(unwrap(value));
  if (!r.success) {
    throw new KvcpuError('E_BAD_INPUT', `${where} is not a \`kvcpu host --json\` snapshot: ${issues(r.error)}`, {
      hint: 'write one with `kvcpu host --json > host.json`',
    });
  }
  return r.data;
}

/**
 * The CPU part of host JSON, all a CPU-model comparison needs: a snapshot, or the minimal
 * hand-written {"cpu":{"vendor","flags":[...]}} (arch defaults to x86_64).
 */
export const HostCpuJsonSchema = z.object({
  arch: z.string().optional(),
  hostname: z.string().optional(),
  identity: z.object({ hostname: z.string().nullable().optional() }).optional(),
  cpu: z.object({
    vendor: z.string().nullable().optional(),
    flags: z.array(z.string()),
    family: z.number().int().nullable().optional(),
    model: z.number().int().nullable().optional(),
    stepping: z.number().int().nullable().optional(),
  }),
});
export type HostCpuJson = z.infer<typeof HostCpuJsonSchema>;

/** The CPU part of host JSON, or null when `value` is not host JSON at all (the caller tries other shapes). */
export function parseHostCpuJson(value: unknown, where: string): HostCpuJson | null {
  const v = unwrap(value);
  if (!v || typeof v !== 'object' || !('cpu' in v)) return null;
  const r = HostCpuJsonSchema.safeParse(v);
  if (!r.success) {
    throw new KvcpuError('E_BAD_INPUT', `${where}: not a \`kvcpu host --json\` report: ${issues(r.error)}`, { hint: 'kvcpu host --json > host.json' });
  }
  return r.data;
}
