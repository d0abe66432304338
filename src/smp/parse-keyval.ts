/**
 * QEMU's KEY=VALUE,... option syntax ("keyval", util/keyval.c, QEMU >= 6.1 for -smp), as far as
 * -smp needs it: implied first key, `,,` escapes in values, dotted keys (nested objects and
 * lists), `help`/`?` items, last duplicate wins. Error texts are QEMU 7.2's (checked live).
 */

export type KeyvalValue = string | KeyvalDict | KeyvalValue[];
export interface KeyvalDict {
  [key: string]: KeyvalValue;
}

export type KeyvalResult = { ok: true; dict: KeyvalDict; help: boolean } | { ok: false; message: string };

const isAlpha = (c: string | undefined) => c !== undefined && /^[A-Za-z]$/.test(c);
const isAlnum = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9]$/.test(c);

/**
 * Length of the QAPI name at the start of `s` (util/qapi-util.c parse_qapi_name, not complete):
 * optional downstream prefix `__RFQDN_`, then a letter, then letters/digits/`-`/`_`. -1 if none.
 */
export function qapiNameLength(s: string): number {
  let p = 0;
  if (s[p] === '_') {
    p++;
    if (s[p] !== '_') return -1;
    p++;
    while (p < s.length && (isAlnum(s[p]) || s[p] === '-' || s[p] === '.')) p++;
    if (s[p] !== '_') return -1;
    p++;
  }
  if (!isAlpha(s[p])) return -1;
  p++;
  while (p < s.length && (isAlnum(s[p]) || s[p] === '-' || s[p] === '_')) p++;
  return p;
}

/** Leading decimal digits as a list index (keyval key_to_index), or -1. */
function indexLength(s: string): number {
  const m = /^[0-9]+/.exec(s);
  return m ? m[0].length : -1;
}

/** `help` or `?` as a whole item (qemu/help_option.h starts_with_help_option). */
function helpLength(s: string): number {
  if (s.startsWith('?')) return 1;
  if (s.startsWith('help')) return 4;
  return 0;
}

/** Internal control flow, not exported: parseKeyval returns it as `{ ok: false, message }`. */
class KeyvalError extends Error {}

function put(cur: KeyvalDict, keyInCur: string, value: string | null, keySoFar: string): KeyvalDict | string {
  const old = cur[keyInCur];
  if (old !== undefined) {
    const oldIsString = typeof old === 'string';
    if (oldIsString !== (value !== null)) throw new KeyvalError(`Parameters '${keySoFar}.*' used inconsistently`);
    if (value === null) return old as KeyvalDict;
  }
  if (value === null) {
    const d: KeyvalDict = Object.create(null) as KeyvalDict;
    cur[keyInCur] = d;
    return d;
  }
  cur[keyInCur] = value;
  return value;
}

/** Parse one item at `params[pos]`; returns the position of the next item. */
function parseOne(dict: KeyvalDict, params: string, pos: number, impliedKey: string | null, state: { help: boolean }): number {
  const rest = params.slice(pos);
  let len = rest.search(/[=,]/);
  if (len < 0) len = rest.length;
  if (len > 0 && rest[len] !== '=') {
    if (helpLength(rest) === len) {
      state.help = true;
      let s = pos + len;
      if (params[s] === ',') s++;
      return s;
    }
    if (impliedKey !== null) {
      // Implied key: the value runs to the first ',' (no ',,' escape) and cannot contain '='.
      dict[impliedKey] = rest.slice(0, len);
      let s = pos + len;
      if (params[s] === ',') s++;
      return s;
    }
  }
  const key = rest.slice(0, len);
  let cur = dict;
  let s = 0; // offset in key
  let keyInCur = '';
  for (;;) {
    const frag = key.slice(s);
    let flen = s !== 0 ? indexLength(frag) : -1;
    if (flen < 0) flen = Math.max(0, qapiNameLength(frag));
    if (flen === 0 || (s + flen < key.length && key[s + flen] !== '.')) {
      throw new KeyvalError(`Invalid parameter '${key}'`);
    }
    if (flen >= 128) {
      const fragment = s !== 0 || s + flen !== key.length;
      throw new KeyvalError(`Parameter${fragment ? ' fragment' : ''} '${key.slice(s, s + flen)}' is too long`);
    }
    if (s !== 0) cur = put(cur, keyInCur, null, key.slice(0, s - 1)) as KeyvalDict;
    keyInCur = key.slice(s, s + flen);
    s += flen;
    if (key[s] !== '.') break;
    s++;
  }
  let p = pos + len;
  if (params[p] !== '=') throw new KeyvalError(`Expected '=' after parameter '${key}'`);
  p++;
  let val = '';
  for (;;) {
    if (p >= params.length) break;
    if (params[p] === ',') {
      p++;
      if (params[p] !== ',') break;
    }
    val += params[p++];
  }
  put(cur, keyInCur, val, key);
  return p;
}

/** keyval_listify: dicts whose keys are all indexes become lists (gaps are errors). */
function listify(cur: KeyvalDict, path: string): KeyvalValue {
  let hasIndex = false;
  let hasMember = false;
  for (const [k, v] of Object.entries(cur)) {
    if (/^[0-9]/.test(k)) hasIndex = true;
    else hasMember = true;
    if (typeof v === 'object' && !Array.isArray(v)) cur[k] = listify(v, `${path}${k}.`);
  }
  if (hasIndex && hasMember) throw new KeyvalError(`Parameters '${path}*' used inconsistently`);
  if (!hasIndex) return cur;
  const keys = Object.keys(cur);
  const list: KeyvalValue[] = [];
  for (let i = 0; i < keys.length; i++) {
    const v = Object.entries(cur).find(([k]) => Number(k) === i)?.[1];
    if (v === undefined) throw new KeyvalError(`Parameter '${path}${i}' missing`);
    list.push(v);
  }
  return list;
}

/** Parse one `-smp` argument (implied key `cpus`). */
export function parseKeyval(params: string, impliedKey: string | null): KeyvalResult {
  const dict: KeyvalDict = Object.create(null) as KeyvalDict;
  const state = { help: false };
  try {
    let pos = 0;
    let implied = impliedKey;
    while (pos < params.length) {
      pos = parseOne(dict, params, pos, implied, state);
      implied = null;
    }
    listify(dict, '');
  } catch (e) {
    if (e instanceof KeyvalError) return { ok: false, message: e.message };
    throw e;
  }
  return { ok: true, dict, help: state.help };
}

/** Merge `src` into `dst` key by key, later wins (several -smp options: qemu_opts/keyval merge). */
export function mergeKeyval(dst: KeyvalDict, src: KeyvalDict): void {
  for (const [k, v] of Object.entries(src)) {
    const d = dst[k];
    if (d && typeof d === 'object' && !Array.isArray(d) && typeof v === 'object' && !Array.isArray(v)) mergeKeyval(d, v);
    else dst[k] = v;
  }
}
