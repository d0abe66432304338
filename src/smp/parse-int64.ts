const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * QEMU's qemu_strtoi64(str, NULL, 0): C strtoll with base 0 over the whole string — leading
 * whitespace, optional sign, `0x` hex, leading-0 octal, else decimal; nothing may follow;
 * out-of-range is an error. Returns null where QEMU says "expects integer".
 */
export function parseInt64(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const digits = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits.toLowerCase());
  else if (digits.length > 1 && digits.startsWith('0')) v = BigInt('0o' + digits.slice(1));
  else v = BigInt(digits);
  if (m[1] === '-') v = -v;
  if (v < INT64_MIN || v > INT64_MAX) return null;
  return v;
}
