/**
 * kvcpu's one error type. Every failure a user can hit carries a stable `code`
 * (scripts match on it, tests assert it) and a one-line `hint` saying what to do.
 * Expected findings (a FAIL verdict, a guest that does not fit) are values, not errors:
 * throw only for bad input or a broken environment.
 */
export type ErrorCode =
  // input
  | 'E_USAGE'
  | 'E_BAD_INPUT'
  | 'E_BAD_CPULIST'
  | 'E_BAD_JSON'
  | 'E_BAD_XML'
  // host / environment
  | 'E_SYSFS_MISSING'
  | 'E_PROCFS_MISSING'
  | 'E_IO'
  | 'E_PERMISSION'
  | 'E_NOT_FOUND'
  | 'E_QEMU_MISSING'
  | 'E_QEMU_FAILED'
  | 'E_TIMEOUT'
  // guests: pinning (issue 16)
  | 'E_PIN_DUPLICATE'
  | 'E_PIN_PLAN_REFUSED'
  | 'E_PIN_PLAN_PARTIAL'
  | 'E_PIN_CGROUP_MANAGED'
  | 'E_LIBVIRT_UNREACHABLE'
  | 'E_UNPIN_VERIFY'
  | (string & {}); // capability folders add their own E_* codes

/** Exit status a code maps to: 2 for bad input and environment errors (see README). */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;

export interface KvcpuErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts (printed under `error.details` with --json). */
  details?: Record<string, unknown>;
}

export class KvcpuError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KvcpuErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, 'name', { value: 'KvcpuError', enumerable: false });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** True for kvcpu's own errors (works across module copies: checks the shape, not the class). */
export function isKvcpuError(e: unknown): e is KvcpuError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && e.name === 'KvcpuError';
}
