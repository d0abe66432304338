import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { z } from 'zod';
import type { Registry } from 'prom-client';
import { KvcpuError, type ErrorCode } from '../core/errors.ts';
import { HotplugBodySchema, PinBodySchema, PlanBodySchema, UnpinBodySchema } from '../app/api-schemas.ts';
import { planFromBody } from '../app/plan-request.ts';
import { readOnlyError, type ActionRunner, type Who } from '../app/run-actions.ts';
import { checksView, guestsView, ModelsCache, reportView } from '../app/sample-views.ts';
import type { Sample, Sampler } from '../app/sampler.ts';
import { quoteControl } from './errors.ts';
import { installGuards } from './guards.ts';
import { buildOpenApi } from './openapi.ts';
import { tokenMatches } from './token.ts';

/** Largest accepted request body: a pin plan for hundreds of guests fits in far less. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Concurrent /api/v1/events streams; more get 503 (each holds a socket and a listener). */
export const MAX_STREAMS = 64;

export interface AppDeps {
  sampler: Sampler;
  actions: ActionRunner;
  metrics: Registry;
  version: string;
  /** Bearer token; null = read-only agent. */
  token: string | null;
  /** Host header check (DNS rebinding). */
  hostAllowed: (host: string | undefined) => boolean;
  models?: ModelsCache;
  /** Extra routes (the dashboard) mounted on the same app, behind the same guards. */
  extend?: (app: Hono, deps: AppDeps) => void;
  /** Log line sink (never given a token or a request body). */
  log?: (line: string) => void;
}

export interface AgentApp {
  app: Hono;
  /** End every open event stream (shutdown). */
  closeStreams(): void;
  openStreams(): number;
}

function fail(code: ErrorCode, message: string, hint?: string): never {
  throw new KvcpuError(code, message, hint ? { hint } : {});
}

/** Parse and validate a JSON body against `schema`; 400 with the schema's complaints otherwise. */
async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    fail('E_UNSUPPORTED_MEDIA', `request body must be application/json, not ${quoteControl(type) || 'missing'}`, 'send Content-Type: application/json');
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail('E_BAD_JSON', `request body is not valid JSON: ${(e as Error).message}`, 'check it with `jq .`');
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new KvcpuError('E_BAD_INPUT', `invalid request body: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`, {
      hint: 'see /api/v1/openapi.json for the request schema',
      details: { issues },
    });
  }
  return r.data as z.infer<S>;
}

function whoOf(c: Context): Who {
  let remote: string | null = null;
  try {
    const info = getConnInfo(c);
    remote = info.remote.address ? `${info.remote.address}:${info.remote.port ?? ''}` : null;
  } catch {
    // app.request() in tests has no socket
  }
  const ua = c.req.header('user-agent');
  return { remote, userAgent: ua ? quoteControl(ua.slice(0, 200)) : null };
}

/**
 * The agent's HTTP app (hono): JSON API, /metrics, event stream, and (through `extend`) the
 * dashboard. Guards run before any route: Host header, methods, body size, no CORS.
 * Reads serve the sampler's latest sample; actions go through the ActionRunner.
 */
export function createAgentApp(deps: AppDeps): AgentApp {
  const app = new Hono();
  const models = deps.models ?? new ModelsCache();
  const log = deps.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const streams = new Set<() => void>();

  installGuards(app, {
    hostAllowed: deps.hostAllowed,
    maxBodyBytes: MAX_BODY_BYTES,
    bodyHint: 'send one pin plan per request',
    who: 'this agent',
    log: (l) => log(`kvcpu serve: ${l}`),
  });

  const latest = (): Sample => deps.sampler.latest();

  app.get('/api/v1/host', (c) => c.json(latest().host));
  app.get('/api/v1/checks', (c) => c.json(checksView(latest())));
  // The same sample gives the same text: serialised once per sample, however many clients ask.
  const perSample = <T>(make: (s: Sample) => T) => {
    let memo: { seq: number; value: T } | null = null;
    return (s: Sample): T => {
      if (memo?.seq !== s.seq) memo = { seq: s.seq, value: make(s) };
      return memo.value;
    };
  };
  const guestsText = perSample((s) => JSON.stringify(guestsView(s)));
  // The report is assembled and schema-checked once per sample (a failure is not kept).
  let reportMemo: { seq: number; doc: Promise<unknown> } | null = null;
  app.get('/api/v1/report', async (c) => {
    const s = latest();
    if (reportMemo?.seq !== s.seq) {
      const doc = reportView(s, models);
      reportMemo = { seq: s.seq, doc };
      doc.catch(() => {
        if (reportMemo?.doc === doc) reportMemo = null;
      });
    }
    return c.json(await reportMemo.doc);
  });
  const eventText = perSample((s) =>
    JSON.stringify({
      seq: s.seq,
      takenAt: s.takenAt,
      durationMs: s.durationMs,
      overcommitRatio: s.overcommit.ratio,
      guests: s.guests.guests.map((g) => ({ pid: g.pid, name: g.name, vcpus: g.vcpuCount })),
    }),
  );
  app.get('/api/v1/guests', (c) => c.body(guestsText(latest()), 200, { 'Content-Type': 'application/json' }));
  app.get('/api/v1/overcommit', (c) => c.json(latest().overcommit));
  app.get('/api/v1/models', async (c) => c.json((await models.get()).data));
  app.get('/api/v1/openapi.json', (c) => c.json(buildOpenApi(deps.version)));
  app.post('/api/v1/plan', async (c) => c.json(planFromBody(await readBody(c, PlanBodySchema), latest().host)));

  /** Actions: token first (an unauthenticated body is never parsed), then validation, then the runner. */
  const authorize = (c: Context, action: 'pin' | 'unpin' | 'hotplug'): Who => {
    const who = whoOf(c);
    if (deps.token === null) {
      deps.actions.denied(action, who, 'E_READ_ONLY', 'read-only agent');
      throw readOnlyError();
    }
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(c.req.header('authorization') ?? '');
    if (!m || !tokenMatches(m[1]!, deps.token)) {
      deps.actions.denied(action, who, 'E_UNAUTHORIZED', m ? 'wrong token' : 'no bearer token');
      c.header('WWW-Authenticate', 'Bearer realm="kvcpu"');
      fail(
        'E_UNAUTHORIZED',
        m ? "the bearer token is not this agent's token" : 'actions need Authorization: Bearer <token>',
        "send the content of the agent's --token-file",
      );
    }
    return who;
  };
  app.post('/api/v1/pin', async (c) => {
    const who = authorize(c, 'pin');
    return c.json(await deps.actions.pin(await readBody(c, PinBodySchema), who));
  });
  app.post('/api/v1/unpin', async (c) => {
    const who = authorize(c, 'unpin');
    return c.json(await deps.actions.unpin(await readBody(c, UnpinBodySchema), who));
  });
  app.post('/api/v1/hotplug', async (c) => {
    const who = authorize(c, 'hotplug');
    return c.json(await deps.actions.hotplug(await readBody(c, HotplugBodySchema), who));
  });

  app.get('/api/v1/events', (c) => {
    if (streams.size >= MAX_STREAMS) fail('E_TOO_MANY_STREAMS', `${MAX_STREAMS} event streams are open already`, 'close other dashboard tabs');
    return streamSSE(c, async (stream) => {
      let pending = false;
      const summary = (s: Sample) => eventText(s);
      const send = (s: Sample) => {
        // A client that has not taken the previous event skips this one: no queue grows per slow reader.
        if (pending || stream.aborted || stream.closed) return;
        pending = true;
        stream
          .writeSSE({ event: 'sample', id: String(s.seq), data: summary(s) })
          .catch(() => undefined)
          .finally(() => {
            pending = false;
          });
      };
      let stop!: () => void;
      const done = new Promise<void>((r) => (stop = r));
      streams.add(stop);
      deps.sampler.on('sample', send);
      stream.onAbort(stop);
      const beat = setInterval(() => void stream.write(': keep-alive\n\n').catch(stop), 15_000);
      try {
        send(latest());
        await done;
      } finally {
        clearInterval(beat);
        deps.sampler.off('sample', send);
        streams.delete(stop);
      }
    });
  });

  // Every value comes from the sample, so the text is rendered once per sample: N scrapers
  // between two samples cost one rendering.
  let rendered: { seq: number; text: Promise<string> } | null = null;
  app.get('/metrics', async (c) => {
    const seq = latest().seq;
    if (rendered?.seq !== seq) {
      const text = deps.metrics.metrics();
      rendered = { seq, text };
      text.catch(() => {
        if (rendered?.text === text) rendered = null;
      });
    }
    const text = await rendered.text;
    return c.body(text, 200, { 'Content-Type': deps.metrics.contentType });
  });

  deps.extend?.(app, deps);
  return {
    app,
    closeStreams() {
      for (const s of [...streams]) s();
    },
    openStreams: () => streams.size,
  };
}
