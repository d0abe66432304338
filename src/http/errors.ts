import { isKvcpuError } from '../core/errors.ts';

/** Input codes answered 400; everything else a capability throws on purpose is a refused action (409). */
const STATUS: Record<string, number> = {
  E_USAGE: 400,
  E_BAD_INPUT: 400,
  E_BAD_CPULIST: 400,
  E_BAD_JSON: 400,
  E_PIN_INVALID: 400,
  E_PIN_NO_VCPU: 400,
  E_PIN_NO_EMULATOR: 400,
  E_PIN_NO_IOTHREAD: 400,
  E_PIN_SINGLE_THREAD: 400,
  E_PLAN_SETS: 400,
  E_HOTPLUG_MAX: 400,
  E_NOT_LIBVIRT: 400,
  E_FLEET_BAD_REPORT: 400,
  E_FLEET_BAD_WHERE: 400,
  E_FLEET_BAD_HOST: 400,
  E_CPU_UNKNOWN_MODEL: 400,
  E_CPU_UNKNOWN_FEATURE: 400,
  E_CPU_NO_INPUT: 400,
  E_CPU_NOT_X86: 400,
  E_UNAUTHORIZED: 401,
  E_READ_ONLY: 403,
  E_BAD_ORIGIN: 403,
  E_NOT_FOUND: 404,
  E_GUEST_NOT_FOUND: 404,
  E_UNPIN_NO_STATE: 404,
  E_FLEET_UNKNOWN_HOST: 404,
  E_FLEET_NO_REPORT: 404,
  E_FLEET_NO_HOSTS: 404,
  E_METHOD_NOT_ALLOWED: 405,
  E_GUEST_AMBIGUOUS: 409,
  E_BODY_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA: 415,
  E_BAD_HOST: 421,
  E_TOO_MANY_STREAMS: 503,
  E_INTERNAL: 500,
};

/** Control characters from the input are shown escaped, never raw (a NUL must not reach a terminal or log). */
export function quoteControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface ErrorBody {
  error: { code: string; message: string; hint?: string; details?: Record<string, unknown> };
}

/** A thrown value -> HTTP status + the JSON error body. Unknown errors never leak a stack or message. */
export function errorResponse(e: unknown): { status: number; body: ErrorBody } {
  if (isKvcpuError(e)) {
    const j = e.toJSON();
    return {
      status: STATUS[j.code] ?? 409,
      body: {
        error: {
          code: j.code,
          message: quoteControl(j.message),
          ...(j.hint ? { hint: quoteControl(j.hint) } : {}),
          ...(j.details ? { details: j.details } : {}),
        },
      },
    };
  }
  return {
    status: 500,
    body: {
      error: { code: 'E_INTERNAL', message: 'internal error (logged by the agent)', hint: 'see the agent log (journalctl -u kvcpu-agent) and report it' },
    },
  };
}
