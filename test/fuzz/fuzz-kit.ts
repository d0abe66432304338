/**
 * Shared harness for kvcpu's property-based fuzz suite (fast-check).
 *
 * - Seeded: KVCPU_FUZZ_SEED (a number) replays a run; the default is a fixed seed so CI is
 *   deterministic; KVCPU_FUZZ_SEED=random draws one. Every property prints its seed and count.
 * - Bounded: each property runs `runs` inputs (default per property, scaled by
 *   KVCPU_FUZZ_RUNS=N as an absolute count) and stops after `timeMs` (KVCPU_FUZZ_TIME_MS
 *   overrides), so the suite stays within seconds in CI and can run for minutes by hand.
 * - The contract every parser/reader is held to: it returns a value, or throws a KvcpuError whose
 *   code docs/errors.md documents; it answers within PER_CALL_MS; numbers it returns are finite.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isKvcpuError } from '../../src/core/errors.ts';

const repo = path.resolve(import.meta.dirname, '../..');
export const DOCUMENTED_CODES = new Set([...readFileSync(path.join(repo, 'docs/errors.md'), 'utf8').matchAll(/^### (E_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!));

const seedEnv = process.env.KVCPU_FUZZ_SEED;
export const FUZZ_SEED = seedEnv === 'random' ? (Date.now() ^ (process.pid << 8)) >>> 0 : seedEnv ? Number(seedEnv) : 0x15_2026;
const runsEnv = Number(process.env.KVCPU_FUZZ_RUNS ?? '');
const timeEnv = Number(process.env.KVCPU_FUZZ_TIME_MS ?? '');
/** One call of a parser may take this long at most (a hang or quadratic blow-up fails). */
export const PER_CALL_MS = Number(process.env.KVCPU_FUZZ_CALL_MS ?? '') || 1500;

/** Counts for the closing note: property -> inputs tried. */
export const tried = new Map<string, number>();

export interface FuzzOptions {
  runs: number;
  timeMs?: number;
}

function params(name: string, o: FuzzOptions): fc.Parameters<unknown> {
  const numRuns = runsEnv > 0 ? runsEnv : o.runs;
  const interruptAfterTimeLimit = timeEnv > 0 ? timeEnv : runsEnv > 0 ? 600_000 : (o.timeMs ?? 2500);
  void name;
  return { seed: FUZZ_SEED, numRuns, interruptAfterTimeLimit, markInterruptAsFailure: false };
}

function report(name: string, details: fc.RunDetails<unknown>): void {
  tried.set(name, details.numRuns);
  console.log(`[fuzz] ${name}: ${details.numRuns} inputs, seed ${FUZZ_SEED}${details.interrupted ? ' (time limit)' : ''}${details.failed ? ' FAILED' : ''}`);
  if (details.failed) {
    throw new Error(
      `${name}: counter-example ${fc.stringify(details.counterexample)} (seed ${FUZZ_SEED}, path ${details.counterexamplePath}):\n${String(details.errorInstance)}`,
    );
  }
}

/** Run a synchronous property; `check` throws (expect) when the contract is broken. */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => void, o: FuzzOptions): void {
  report(
    name,
    fc.check(
      fc.property(arb, (v) => void check(v)),
      params(name, o),
    ),
  );
}

/** Same for asynchronous properties (QMP, CLI runs). */
export async function fuzzAsync<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => Promise<void>, o: FuzzOptions): Promise<void> {
  report(
    name,
    await fc.check(
      fc.asyncProperty(arb, (v) => check(v)),
      params(name, o),
    ),
  );
}

/**
 * Call a parser under the contract: a value (returned) or a documented KvcpuError (returned as
 * `{ error }`), within PER_CALL_MS. Anything else (TypeError, RangeError, an undocumented code)
 * throws with the input, so fast-check shrinks it.
 */
export function outcome<R>(fn: () => R): { value: R; error: null } | { value: null; error: { code: string; message: string } } {
  const t0 = performance.now();
  let r: { value: R; error: null } | { value: null; error: { code: string; message: string } };
  try {
    r = { value: fn(), error: null };
  } catch (e) {
    if (!isKvcpuError(e)) throw new Error(`not a KvcpuError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
    if (!DOCUMENTED_CODES.has(e.code)) throw new Error(`undocumented code ${e.code}: ${e.message}`, { cause: e });
    r = { value: null, error: { code: e.code, message: e.message } };
  }
  const ms = performance.now() - t0;
  if (ms > PER_CALL_MS) throw new Error(`took ${ms.toFixed(0)} ms (bound ${PER_CALL_MS} ms)`);
  return r;
}

/** Every number inside `v` is finite (no NaN, no Infinity); returns the offending path. */
export function badNumber(v: unknown, at = '$', seen = new Set<unknown>()): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${at} = ${v}`;
  if (v === null || typeof v !== 'object' || seen.has(v)) return null;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v) {
      const b = badNumber(k, `${at}<key>`, seen) ?? badNumber(x, `${at}[${String(k)}]`, seen);
      if (b) return b;
    }
    return null;
  }
  if (v instanceof Set) {
    for (const x of v) {
      const b = badNumber(x, `${at}{}`, seen);
      if (b) return b;
    }
    return null;
  }
  for (const [k, x] of Object.entries(v)) {
    const b = badNumber(x, `${at}.${k}`, seen);
    if (b) return b;
  }
  return null;
}

/** Numbers named like counts/ids/CPUs must not be negative. */
export function negativeCount(v: unknown, keys: RegExp, at = '$', seen = new Set<unknown>()): string | null {
  if (v === null || typeof v !== 'object' || seen.has(v)) return null;
  seen.add(v);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'number' && keys.test(k) && x < 0) return `${at}.${k} = ${x}`;
    const b = negativeCount(x, keys, `${at}.${k}`, seen);
    if (b) return b;
  }
  return null;
}

// ---- shared arbitraries --------------------------------------------------------------------

/** Digits that stress number handling: small, boundary, 2^31/2^32/2^53, huge, leading zeros. */
export const numberText = fc.oneof(
  { weight: 5, arbitrary: fc.nat(40).map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '0',
      '1',
      '255',
      '256',
      '8191',
      '8192',
      '65535',
      '2147483647',
      '2147483648',
      '4294967295',
      '4294967296',
      '9007199254740993',
      '99999999999999999999999',
      '00000000000000000000003',
      '-1',
      '1e3',
      '0x10',
      ' 7',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^\d{1,30}$/) },
);

/** Text that mixes the input's grammar with garbage: control bytes, unicode, huge runs. */
export const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    '\u001b[2J',
    '\ufeff',
    '\u202e',
    '\n',
    '\r\n',
    '\t',
    ' ',
    ',',
    '-',
    ':',
    '=',
    '"',
    "'",
    '<',
    '>',
    '&',
    ';',
    '$(touch /tmp/kvcpu-fuzz-pwned)',
    '../../x',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
  ),
);

/** A cpulist-like string: grammar pieces (n, a-b, a-b:s) joined by commas, sometimes broken. */
export const cpulistText = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.oneof(
          numberText,
          fc.tuple(numberText, numberText).map(([a, b]) => `${a}-${b}`),
          fc.tuple(numberText, numberText, numberText).map(([a, b, s]) => `${a}-${b}:${s}`),
        ),
        { maxLength: 6 },
      )
      .map((xs) => xs.join(',')),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(fc.oneof(numberText, junk), { maxLength: 6 }), fc.constantFrom(',', '-', ':', ' ')).map(([xs, sep]) => xs.join(sep)),
  },
  { weight: 1, arbitrary: junk },
);

/** Mutate a text: truncate, duplicate, splice junk, replace digits with big numbers. */
export function mutatedText(base: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat(base.length).map((n) => base.slice(0, n)),
    fc.tuple(fc.nat(base.length), junk).map(([n, j]) => base.slice(0, n) + j + base.slice(n)),
    fc.tuple(fc.nat(base.length), fc.nat(base.length), numberText).map(([a, b, x]) => base.slice(0, Math.min(a, b)) + x + base.slice(Math.max(a, b))),
    fc.constant(base.replace(/\d+/g, '99999999999999999999999')),
    fc.constant(base.replace(/\d+/g, '-1')),
    fc.nat(4).map((k) => base.repeat(k + 2)),
  );
}

/** Replace one leaf (or drop one key) of a JSON value: the classic structure-aware mutation. */
export function mutateJson(base: unknown): fc.Arbitrary<unknown> {
  const leaves: (string | number)[][] = [];
  const walk = (v: unknown, p: (string | number)[]) => {
    leaves.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(base, []);
  const replacement = fc.oneof(
    fc.constantFrom(
      null,
      true,
      '',
      -1,
      0,
      1e308,
      -0.5,
      2 ** 53,
      1e23 /* what a 23-digit literal 99…9 rounds to */,
      8192,
      4294967295,
      [],
      {},
      [-1],
      [1e9],
      ['0'],
    ),
    fc.jsonValue({ maxDepth: 2 }),
    numberText,
  );
  return fc.tuple(fc.constantFrom(...leaves), replacement, fc.boolean()).map(([p, r, drop]) => {
    const copy = structuredClone(base) as Record<string | number, unknown>;
    if (p.length === 0) return r;
    let cur: Record<string | number, unknown> = copy;
    for (const k of p.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
    if (drop && !Array.isArray(cur)) delete cur[p.at(-1)!];
    else cur[p.at(-1)!] = r;
    return copy;
  });
}
