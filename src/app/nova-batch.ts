import { z } from 'zod';
import {
  chooseNovaTopology,
  getNovaConstraints,
  getNovaPossibleTopologies,
  ImagePropertyError,
  sortNovaTopologies,
  type Sct,
} from '../topology/nova-topology.ts';

const DICT = '"flavor_extra_specs" and "image_properties" must be objects';
const SCT = '"maximum"/"preferred" must be [sockets,cores,threads]';
const sct = z.tuple(
  [z.number().int().refine(Number.isSafeInteger), z.number().int().refine(Number.isSafeInteger), z.number().int().refine(Number.isSafeInteger)],
  { error: SCT },
);
const dict = z.record(z.string(), z.unknown(), { error: DICT }).nullable().optional();

/**
 * One `kvcpu topology nova --batch` line (the shape of the shared Nova topology cases): a
 * `choose` case (flavor extra specs + image properties), a `constraints` case, or a
 * `possible`/`sorted` case with explicit limits. Values inside the dicts are Nova's to judge
 * (it raises on them), so they are not typed here.
 */
export const NovaBatchLineSchema = z.object(
  {
    vcpus: z
      .number({ error: '"vcpus" must be a positive integer' })
      .int('"vcpus" must be a positive integer')
      .min(1, '"vcpus" must be a positive integer')
      .refine(Number.isSafeInteger, '"vcpus" must be a positive integer'),
    flavor_extra_specs: dict,
    image_properties: dict,
    maximum: sct.optional(),
    preferred: sct.optional(),
    allow_threads: z.unknown().optional(),
    kind: z.unknown().optional(),
  },
  { error: 'line must be a JSON object' },
);
export type NovaBatchLine = z.infer<typeof NovaBatchLineSchema>;

/** The answer to one batch line: Nova's choice, its exception class, or an E_ code for a bad line. */
export type NovaBatchAnswer = { best: Sct; ranked: Sct[] } | { preferred: Sct; maximum: Sct } | { error: string; message?: string };

/** One --batch line → Nova's answer as {"best","ranked"} or {"error"} (the CLI and the agent). */
export function novaBatchAnswer(line: string): NovaBatchAnswer {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { error: 'E_BAD_JSON', message: `line is not valid JSON: ${(e as Error).message}` };
  }
  const parsed = NovaBatchLineSchema.safeParse(v);
  if (!parsed.success) return { error: 'E_BAD_INPUT', message: parsed.error.issues[0]?.message ?? 'bad case' };
  const o = parsed.data;
  const allowThreads = o.allow_threads === undefined ? true : o.allow_threads === true;
  const vcpus = o.vcpus;
  // `possible` / `sorted` case shapes (explicit limits, optional preference) are answered too.
  if (o.maximum !== undefined) {
    const r = getNovaPossibleTopologies(vcpus, o.maximum, allowThreads);
    if (!r.ok) return { error: r.error };
    const ranked = o.preferred ? sortNovaTopologies(r.possible, o.preferred) : r.possible;
    return { best: ranked[0]!, ranked };
  }
  try {
    const req = {
      vcpus,
      flavorExtraSpecs: (o.flavor_extra_specs ?? {}) as Record<string, string>,
      imageProperties: (o.image_properties ?? {}) as Record<string, string | number>,
      allowThreads,
    };
    // A `constraints` case asks only for the preference and limits (get_cpu_topology_constraints).
    if (o.kind === 'constraints') {
      const c = getNovaConstraints(req);
      return c.ok ? { preferred: c.preferred, maximum: c.maximum } : { error: c.error };
    }
    const r = chooseNovaTopology(req);
    return r.ok ? { best: r.best, ranked: r.ranked } : { error: r.error };
  } catch (e) {
    // ImageMeta.from_dict itself raises ValueError on a non-integer image property.
    if (e instanceof ImagePropertyError) return { error: 'ValueError' };
    throw e;
  }
}
