/**
 * kvcpu's one error type. Every failure a user can hit carries a stable `code`
 * (scripts match on it, tests assert it) and a one-line `hint` saying what to do.
 * Expected findings (a FAIL verdict, a guest that does not fit) are values, not errors:
 * throw only for bad input or a broken environment.
 */
import type { ErrorCode } from './error-codes.ts';

/** Every code, its exit status and its documentation: the table in ./error-codes.ts. */
export type { ErrorCode } from './error-codes.ts';

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
