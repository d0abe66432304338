import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { KvcpuError, type ErrorCode } from '../core/errors.ts';
import { errorResponse, quoteControl } from './errors.ts';

function fail(code: ErrorCode, message: string, hint: string): never {
  throw new KvcpuError(code, message, { hint });
}

export interface GuardOptions {
  /** Host header check (DNS rebinding defence). */
  hostAllowed: (host: string | undefined) => boolean;
  /** Largest request body under /api/. */
  maxBodyBytes: number;
  /** What to do about a body over the limit. */
  bodyHint: string;
  /** Who is answering, for error text ("this agent", "this fleet server"). */
  who: string;
  log: (line: string) => void;
}

/**
 * The guards every kvcpu HTTP server runs before any route: JSON errors (never a stack trace),
 * the Host header, GET/HEAD/POST only, no cross-origin writes, a body size limit, and security
 * headers on every answer. No CORS headers are ever sent.
 */
export function installGuards(app: Hono, o: GuardOptions): void {
  app.onError((err, c) => {
    const { status, body } = errorResponse(err);
    if (status >= 500) o.log(`${c.req.method} ${c.req.path}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return c.json(body, status as 400);
  });
  app.notFound((c) =>
    c.json(
      errorResponse(new KvcpuError('E_NOT_FOUND', `no route ${c.req.method} ${quoteControl(c.req.path)}`, { hint: 'see /api/v1/openapi.json' })).body,
      404,
    ),
  );
  app.use('*', async (c, next) => {
    if (!o.hostAllowed(c.req.header('host'))) {
      fail(
        'E_BAD_HOST',
        `Host ${quoteControl(c.req.header('host') ?? '(none)')} is not ${o.who}'s address`,
        'use the --listen address in the URL (requests through another name are refused: DNS rebinding)',
      );
    }
    if (!['GET', 'HEAD', 'POST'].includes(c.req.method)) {
      c.header('Allow', 'GET, HEAD, POST');
      fail(
        'E_METHOD_NOT_ALLOWED',
        `method ${quoteControl(c.req.method)} is not allowed (${o.who} sends no CORS headers)`,
        'use GET for reads, POST for writes',
      );
    }
    const origin = c.req.header('origin');
    if (c.req.method === 'POST' && origin !== undefined) {
      let h: string | undefined;
      try {
        h = new URL(origin).host;
      } catch {
        h = undefined;
      }
      if (!o.hostAllowed(h))
        fail('E_BAD_ORIGIN', `Origin ${quoteControl(origin)} may not send requests to ${o.who}`, 'call the API from its own page or a non-browser client');
    }
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: o.maxBodyBytes,
      onError: () => fail('E_BODY_TOO_LARGE', `request body larger than ${o.maxBodyBytes} bytes`, o.bodyHint),
    }),
  );
}
