/**
 * The QOM properties of QEMU's x86 CPU classes as `-cpu` sets them: which exist on which class,
 * their types and ranges, and the exact error QEMU prints for a bad value. Types come from
 * QEMU itself (scripts/gen-cpu-props.ts → data/qemu-<v>-x86-props.json: qom-list-properties);
 * the ranges of the custom setters are QEMU 7.2 target/i386/cpu.c rules cited where applied.
 */
import { readFileSync } from 'node:fs';
import { catalogDataDir } from './catalog.ts';
import type { QemuCatalog } from './types.ts';

export interface CpuPropsData {
  schema: 'kvcpu/qemu-cpu-props/1';
  qemu: { version: string };
  /** Non-feature properties → QAPI type (`bool`, `uint32`, `int`, `string`, `OnOffAuto`...). */
  types: Record<string, string>;
  /** Properties only some classes register (max_x86_cpu_class_init: migratable, host-cache-info). */
  classOnly: { 'max-and-host': string[] };
  readOnly: string[];
  /** Parent feature → every feature QEMU clears when the parent is off (feature_dependencies, transitive). */
  dependencies: Record<string, string[]>;
  /** vmx-* bits of a model's definition (cleared unless vmx is on). */
  vmxWithModel: Record<string, string[]>;
  /** Models whose definition carries cache_info (legacy-cache=off accepted). */
  cacheInfo: string[];
}

const cache = new Map<string, CpuPropsData>();
export function loadCpuProps(version: string): CpuPropsData {
  const mm = version.split('.').slice(0, 2).join('.');
  const hit = cache.get(mm);
  if (hit) return hit;
  const data = JSON.parse(readFileSync(new URL(`qemu-${mm}-x86-props.json`, catalogDataDir()), 'utf8')) as CpuPropsData;
  cache.set(mm, data);
  return data;
}

export type PropKind =
  { kind: 'feature'; name: string; canonical: string } | { kind: 'bool'; name: string } | { kind: 'typed'; name: string; type: string; readOnly: boolean };

/**
 * What a property name is on a model's class, or null when the class has no such property
 * (QEMU: object_property_find_err → "Property 'CLASS.NAME' not found").
 */
export function lookupProp(name: string, modelClass: 'named' | 'max-and-host', catalog: QemuCatalog, props: CpuPropsData): PropKind | null {
  if (catalog.features.includes(name)) return { kind: 'feature', name, canonical: name };
  // Own keys only: `+toString` found Object.prototype.toString through these tables and crashed
  // (fuzz, issue 15); QEMU has no such property.
  const alias = Object.hasOwn(catalog.aliases, name) ? catalog.aliases[name] : undefined;
  if (alias) return { kind: 'feature', name, canonical: alias };
  const type = Object.hasOwn(props.types, name) ? props.types[name] : undefined;
  if (type === undefined) return null;
  if (modelClass === 'named' && props.classOnly['max-and-host'].includes(name)) return null;
  if (type === 'bool') return { kind: 'bool', name };
  return { kind: 'typed', name, type, readOnly: props.readOnly.includes(name) };
}

/** qapi/qapi-util.c qapi_bool_parse (the string-input visitor used for -cpu globals). */
export function parseQapiBool(v: string): boolean | null {
  if (['on', 'yes', 'true', 'y'].includes(v)) return true;
  if (['off', 'no', 'false', 'n'].includes(v)) return false;
  return null;
}

/**
 * util/cutils.c qemu_strtou64/qemu_strtoi64 with base 0 (strtoull semantics: leading blanks, a
 * sign, 0x hex, leading-0 octal; the whole string must be consumed). Negative values wrap for
 * unsigned parsing exactly like strtoull. Returns null on a syntax error or overflow.
 */
export function parseCInteger(s: string, unsigned: boolean): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return null;
  const digits = m[2]!;
  let v = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
  const U64 = (1n << 64n) - 1n;
  if (unsigned) {
    if (v > U64) return null;
    if (m[1] === '-') v = v === 0n ? 0n : (1n << 64n) - v;
    return v;
  }
  if (m[1] === '-') v = -v;
  if (v > (1n << 63n) - 1n || v < -(1n << 63n)) return null;
  return v;
}

const UINT_BITS: Record<string, number> = { uint8: 8, uint16: 16, uint32: 32, uint64: 64 };
const INT_BITS: Record<string, number> = { int8: 8, int16: 16, int32: 32, int: 64, int64: 64 };

/**
 * Ranges of the custom integer setters: x86_cpuid_version_set_family (0..0xff+0xf),
 * x86_cpuid_version_set_model (0..0xff), x86_cpuid_version_set_stepping (0..0xf),
 * x86_cpuid_set_tsc_freq (0..INT64_MAX). Their error is QERR_PROPERTY_VALUE_OUT_OF_RANGE with an
 * empty type name ("Property .family doesn't take value 300 (minimum: 0, maximum: 270)").
 */
const CUSTOM_RANGE: Record<string, bigint> = { family: 0xffn + 0xfn, model: 0xffn, stepping: 0xfn, 'tsc-frequency': (1n << 63n) - 1n };
/** x86_cpu_properties: DEFINE_PROP_UINT64_CHECKMASK("lbr-fmt", ..., PERF_CAP_LBR_FMT). */
const CHECK_MASK: Record<string, bigint> = { 'lbr-fmt': 0x3fn };

export type PropValue = boolean | bigint | string;

/**
 * Parse a `key=value` of a `-cpu` string the way object_property_parse does for a global
 * property (string-input visitor + the property's setter). Returns the value or QEMU's error text.
 */
export function parsePropValue(p: PropKind, value: string): { ok: true; value: PropValue } | { ok: false; error: string } {
  if (p.kind === 'feature' || p.kind === 'bool') {
    const b = parseQapiBool(value);
    return b === null ? { ok: false, error: `Parameter '${p.name}' expects 'on' or 'off'` } : { ok: true, value: b };
  }
  const { name, type } = p;
  if (UINT_BITS[type] !== undefined) {
    const v = parseCInteger(value, true);
    // qapi/string-input-visitor.c parse_type_uint64, then visit_type_uintN's range check.
    if (v === null) return { ok: false, error: `Parameter '${name}' expects uint64` };
    const bits = UINT_BITS[type]!;
    if (bits < 64 && v > (1n << BigInt(bits)) - 1n) return { ok: false, error: `Parameter '${name}' expects ${type}_t` };
    const mask = CHECK_MASK[name];
    if (mask !== undefined && (v & ~mask) !== 0n) return { ok: false, error: `Property value for '${name}' has bits outside mask '0x${mask.toString(16)}'` };
    return { ok: true, value: v };
  }
  if (INT_BITS[type] !== undefined) {
    const v = parseCInteger(value, false);
    if (v === null) return { ok: false, error: `Parameter '${name}' expects int64` };
    const bits = INT_BITS[type]!;
    if (bits < 64 && (v > (1n << BigInt(bits - 1)) - 1n || v < -(1n << BigInt(bits - 1)))) return { ok: false, error: `Parameter '${name}' expects ${type}_t` };
    const max = CUSTOM_RANGE[name];
    if (max !== undefined && (v < 0n || v > max)) return { ok: false, error: `Property .${name} doesn't take value ${v} (minimum: 0, maximum: ${max})` };
    return { ok: true, value: v };
  }
  if (type === 'OnOffAuto') {
    return ['on', 'off', 'auto'].includes(value) ? { ok: true, value } : { ok: false, error: `Parameter '${name}' does not accept value '${value}'` };
  }
  // x86_cpuid_set_vendor: exactly CPUID_VENDOR_SZ (12) characters, else QERR_PROPERTY_VALUE_BAD.
  if (name === 'vendor' && value.length !== 12) return { ok: false, error: `Property '.vendor' doesn't take value '${value}'` };
  return { ok: true, value };
}

/**
 * `+name` / `-name`: x86_cpu_expand_features sets each with object_property_set_bool, i.e. a
 * QBool through the QObject input visitor. A bool property takes it; any other type fails with
 * that visitor's type error (qobject_input_type_uint64 / _int64 / _str).
 */
export function setBoolError(p: PropKind): string | null {
  if (p.kind !== 'typed') return null;
  if (UINT_BITS[p.type] !== undefined) return `Parameter '${p.name}' expects uint64`;
  if (INT_BITS[p.type] !== undefined) return `Invalid parameter type for '${p.name}', expected: integer`;
  return `Invalid parameter type for '${p.name}', expected: string`;
}

/** `tsc-freq=` is rewritten by x86_cpu_parse_featurestr with qemu_strtosz_metric ("bad numerical value"). */
export function parseTscFreq(value: string): bigint | null {
  const m = /^(\d+)(?:\.(\d*))?\s*([kKmMgGtTpPeEbB]?)$/.exec(value);
  if (!m) return null;
  const unit = { '': 1, b: 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15, e: 1e18 }[m[3]!.toLowerCase()]!;
  if (m[2] !== undefined && unit === 1 && m[2] !== '') return null; // a fraction needs a suffix
  const v = BigInt(Math.round(Number(`${m[1]}.${m[2] ?? ''}0`) * unit));
  return v > (1n << 63n) - 1n ? null : v;
}
