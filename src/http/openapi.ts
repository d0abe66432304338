import { z } from 'zod';
import { ActionResultSchema, ErrorBodySchema, HotplugBodySchema, PinBodySchema, PlanBodySchema, UnpinBodySchema } from '../app/api-schemas.ts';
import {
  ChecksSectionDataSchema,
  GuestsSectionDataSchema,
  HostSnapshotSchema,
  ModelsSectionDataSchema,
  OvercommitSectionDataSchema,
  ReportSchema,
} from '../app/report-schema.ts';
import { PinPlanSchema } from '../plan/pin-plan.ts';

function schema(s: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const j = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete j.$schema;
  return j;
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const ok = (description: string, ref: string) => ({ description, content: json(ref) });
const errors = (codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: 'error (see docs/errors.md)', content: json('Error') }]));

let cached: { version: string; doc: unknown } | null = null;

/** The OpenAPI 3.1 document of the agent, generated from the zod schemas the handlers validate with. */
export function buildOpenApi(version: string): unknown {
  if (cached?.version === version) return cached.doc;
  const read = (summary: string, ok: Record<string, unknown>) => ({ get: { summary, responses: { '200': ok, ...errors([421]) } } });
  const action = (summary: string, body: string) => ({
    post: {
      summary,
      security: [{ bearer: [] }],
      requestBody: { required: true, content: json(body) },
      responses: { '200': { description: 'done (all or nothing)', content: json('ActionResult') }, ...errors([400, 401, 403, 404, 409, 413, 415]) },
    },
  });
  const doc = {
    openapi: '3.1.0',
    info: {
      title: 'kvcpu host agent',
      version,
      description: 'Reads serve the latest sample (one /proc walk per interval). Actions need the bearer token and are all or nothing.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the content of the agent --token-file' } },
      schemas: {
        PinRequest: schema(PinBodySchema, 'input'),
        UnpinRequest: schema(UnpinBodySchema, 'input'),
        HotplugRequest: schema(HotplugBodySchema, 'input'),
        PlanRequest: schema(PlanBodySchema, 'input'),
        PinPlan: schema(PinPlanSchema, 'output'),
        Report: schema(ReportSchema, 'output'),
        Host: schema(HostSnapshotSchema, 'output'),
        Checks: schema(ChecksSectionDataSchema, 'output'),
        Models: schema(ModelsSectionDataSchema, 'output'),
        Guests: schema(GuestsSectionDataSchema, 'output'),
        Overcommit: schema(OvercommitSectionDataSchema, 'output'),
        ActionResult: schema(ActionResultSchema, 'output'),
        Error: schema(ErrorBodySchema, 'output'),
      },
    },
    paths: {
      '/api/v1/report': read('everything (= kvcpu report --json, kvcpu/report/1)', ok('report', 'Report')),
      '/api/v1/host': read('host CPUs (= kvcpu host --json)', ok('host snapshot', 'Host')),
      '/api/v1/checks': read('readiness checks (= kvcpu check --json)', ok('checks', 'Checks')),
      '/api/v1/guests': read('guests and threads (= kvcpu ps --json)', ok('guests', 'Guests')),
      '/api/v1/overcommit': read('overcommit audit (= kvcpu overcommit --json)', ok('overcommit', 'Overcommit')),
      '/api/v1/models': read('CPU models runnable here (report section models)', ok('models', 'Models')),
      '/api/v1/events': read('Server-Sent Events: one `sample` event per new sample', {
        description: 'text/event-stream',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      }),
      '/api/v1/plan': {
        post: {
          summary: 'plan guests on this host; changes nothing',
          requestBody: { required: true, content: json('PlanRequest') },
          responses: { '200': { description: 'pin plan', content: json('PinPlan') }, ...errors([400, 413, 415]) },
        },
      },
      '/api/v1/pin': action('pin a guest (or apply a pin plan)', 'PinRequest'),
      '/api/v1/unpin': action('restore the affinity saved at pin time', 'UnpinRequest'),
      '/api/v1/hotplug': action('change a running guest vCPU count', 'HotplugRequest'),
      '/metrics': {
        get: {
          summary: 'Prometheus exposition text',
          responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
    },
  };
  cached = { version, doc };
  return doc;
}
