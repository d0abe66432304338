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

// C0 controls except tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on many
// terminals), and the bidi overrides/isolates that reorder what a terminal shows (CVE-2021-42574).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Make text from input safe to print: every control character becomes a visible escape
 * (`\x00`, `\x1b`, `\u202e`), so a NUL or an escape sequence in a feature name, guest name or
 * file never reaches the terminal raw. Tab and newline stay (messages may be multi-line).
 * @example quoteControls('a\u0000b') // 'a\\x00b'
 */
export function quoteControls(text: string): string {
  return text.replace(UNSAFE, escapeControl);
}

function escapeControl(c: string): string {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

// UNSAFE plus tab and newline: inside one table cell or one line, those break the layout too.
// eslint-disable-next-line no-control-regex
const UNSAFE_INLINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * quoteControls for text that must stay on one line (a table cell, a guest name inside a
 * sentence): the same escapes, and tab and newline as `\x09`, `\x0a` too, so a guest named
 * "a\nb" cannot forge a table row.
 * @example quoteInline('a\nb\u001b[2J') // 'a\\x0ab\\x1b[2J'
 */
export function quoteInline(text: string): string {
  return text.replace(UNSAFE_INLINE, escapeControl);
}

/**
 * JSON text with the characters JSON.stringify leaves raw but terminals act on (DEL, C1,
 * bidi controls) written as \uXXXX escapes: the same value once parsed, harmless when printed.
 * They can only occur inside JSON strings, so a textual replace is exact.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A value from an input file, for a message: strings as they are, anything else as JSON, cut
 * to `max` characters. Never throws (`String({"toString": false})` does: found by the fuzz suite).
 */
export function shownValue(v: unknown, max = 60): string {
  let t: string;
  if (typeof v === 'string') t = v;
  else {
    try {
      t = JSON.stringify(v) ?? typeof v;
    } catch {
      t = typeof v;
    }
  }
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}
