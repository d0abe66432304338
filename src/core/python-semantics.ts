import { KvcpuError } from './errors.ts';
/**
 * The few Python and oslo.utils behaviours Nova's request parsing depends on, so kvcpu gives the
 * same verdict (and the same error text) for the same flavor. Each helper names the function it
 * stands in for. Pure.
 */

/** Python `int(x)` on a str or number; null where Python raises ValueError. */
export function pythonInt(value: unknown): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value !== 'string') return null;
  // int() takes surrounding whitespace, one sign, and digits with single underscores between.
  const s = value.trim();
  if (!/^[+-]?\d+(?:_\d+)*$/.test(s)) return null;
  return Number(s.replace(/_/g, ''));
}

/** Python `str(x)` for the JSON scalars a flavor or image can hold. */
export function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return String(value);
}

/** Python `repr()` of a str (the `%r` in Nova's messages). */
export function pythonRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + quote;
}

/** Python truthiness of a JSON value (`if x:`). */
export function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** oslo_utils.strutils.bool_from_string(subject) with strict=False, default=False. */
export function boolFromString(subject: unknown): boolean {
  if (typeof subject === 'boolean') return subject;
  const lowered = pythonStr(subject).trim().toLowerCase();
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(lowered);
}

/** oslo_utils.strutils.is_int_like: `str(int(v)) == str(v)`. */
export function isIntLike(value: unknown): boolean {
  const n = pythonInt(value);
  return n !== null && String(n) === pythonStr(value);
}

/**
 * oslo_utils.strutils.string_to_bytes(text, 'IEC', return_int=True): `2MB` → 2097152. The IEC
 * pattern takes K/M/G/T with an optional `i` and a `B`, `b` or `bit` suffix (bits are /8).
 * null where oslo raises ValueError.
 */
export function stringToBytes(text: string): number | null {
  const m = /^([-+]?\d*\.?\d+)([KMGT]i?)?(b|bit|B)$/.exec(text);
  if (!m) return null;
  let magnitude = Number(m[1]);
  if (m[3] === 'b' || m[3] === 'bit') magnitude /= 8;
  const exp = m[2] ? { K: 1, M: 2, G: 3, T: 4 }[m[2][0] as 'K' | 'M' | 'G' | 'T'] : 0;
  return Math.ceil(magnitude * 1024 ** exp);
}

/**
 * A CPython 3.11 `set` of non-negative ints, kept only to know its iteration order (table order,
 * Objects/setobject.c: 8-slot minimum table, 9 linear probes then perturbed probing, growth when
 * fill reaches 3/5 of the table, dummies left by discards). Nova walks such sets in a few places
 * where the order decides which error it raises first (an int hashes to itself).
 */
export class PySet {
  private table: (number | null | 'dummy')[] = new Array(8).fill(null);
  private fill = 0;
  private used = 0;

  static fromIterable(items: Iterable<number>): PySet {
    const s = new PySet();
    for (const x of items) s.add(x);
    return s;
  }

  get size(): number {
    return this.used;
  }

  has(key: number): boolean {
    return this.slotOf(key) >= 0;
  }

  /** Keys in CPython iteration order. */
  values(): number[] {
    return this.table.filter((k): k is number => typeof k === 'number');
  }

  /** set.add: probe from hash & mask; a fresh key lands in the first never-used slot. */
  add(key: number): void {
    if (this.has(key)) return;
    const mask = this.table.length - 1;
    this.table[this.freeSlot(this.table, key)] = key;
    this.fill++;
    this.used++;
    if (this.fill * 5 >= mask * 3) this.resize(this.used > 50000 ? this.used * 2 : this.used * 4);
  }

  /** `self |= other` (set_merge): one resize up front, then a copy or per-key inserts. */
  merge(other: PySet): void {
    const mask = this.table.length - 1;
    if ((this.fill + other.used) * 5 >= mask * 3) this.resize((this.used + other.used) * 2);
    if (this.fill === 0 && this.table.length === other.table.length && other.fill === other.used) {
      this.table = [...other.table];
      this.fill = other.fill;
      this.used = other.used;
      return;
    }
    if (this.fill === 0) {
      for (const k of other.values()) this.table[this.freeSlot(this.table, k)] = k;
      this.fill = this.used = other.used;
      return;
    }
    for (const k of other.values()) this.add(k);
  }

  /** `self -= other` (set_difference_update): discards leave dummies; resize when > 1/4 are dummies. */
  subtract(other: PySet): void {
    for (const k of other.values()) {
      const i = this.slotOf(k);
      if (i >= 0) {
        this.table[i] = 'dummy';
        this.used--;
      }
    }
    if (this.fill - this.used > (this.table.length - 1) >> 2) this.resize(this.used > 50000 ? this.used * 2 : this.used * 4);
  }

  private *probe(table: readonly unknown[], key: number): Generator<number> {
    const mask = table.length - 1;
    let i = key & mask;
    let perturb = key;
    for (;;) {
      yield i;
      if (i + 9 <= mask) for (let j = 1; j <= 9; j++) yield i + j;
      perturb = Math.floor(perturb / 32);
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  private freeSlot(table: readonly unknown[], key: number): number {
    for (const i of this.probe(table, key)) if (table[i] === null) return i;
    throw new KvcpuError('E_INTERNAL', 'Python dict emulation: no free slot in a table that has one');
  }

  private slotOf(key: number): number {
    for (const i of this.probe(this.table, key)) {
      const k = this.table[i];
      if (k === null) return -1;
      if (k === key) return i;
    }
    return -1;
  }

  private resize(minused: number): void {
    let size = 8;
    while (size <= minused) size <<= 1;
    const keys = this.values();
    this.table = new Array(size).fill(null);
    for (const k of keys) this.table[this.freeSlot(this.table, k)] = k;
    this.fill = this.used = keys.length;
  }
}

/** Python's `str(set)` for ints in iteration order: `{5, 6, 7}` (`set()` when empty). */
export function formatPySet(keys: readonly number[]): string {
  return keys.length ? `{${keys.join(', ')}}` : 'set()';
}
