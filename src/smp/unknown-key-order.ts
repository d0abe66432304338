/**
 * Which unknown `-smp` key QEMU names when several are given. QEMU 7.2 visits SMPConfiguration
 * with the QObject input visitor: qobject_input_push copies the QDict's keys (QDict iteration
 * order: qobject/qdict.c tdb_hash % QDICT_BUCKET_MAX buckets, newest first in a bucket) into a
 * GLib GHashTable (g_str_hash); each member visited in schema order is removed from it, and
 * qobject_input_check_struct names the first key the hash-table iterator returns. So the answer
 * is GLib's slot order (glib/ghash.c 2.74: quadratic probing, hash * 11 % prime_mod, in-place
 * resize), not the order written. This mirrors those three pieces of code.
 */

const U32 = 0xffffffff;

/** qobject/qdict.c tdb_hash. */
function tdbHash(name: string): number {
  const bytes = Buffer.from(name, 'utf8');
  let value = Math.imul(0x238f13af, bytes.length) >>> 0;
  for (let i = 0; i < bytes.length; i++) value = (value + ((bytes[i]! << ((i * 5) % 24)) >>> 0)) >>> 0;
  return (Math.imul(1103515243, value) + 12345) >>> 0;
}

/** QDict iteration order (qdict_first/qdict_next) of keys inserted in `written` order. */
export function qdictOrder(written: string[]): string[] {
  const buckets = new Map<number, string[]>();
  for (const k of written) {
    const b = tdbHash(k) % 512;
    const list = buckets.get(b) ?? [];
    if (!list.includes(k)) list.unshift(k); // QLIST_INSERT_HEAD
    buckets.set(b, list);
  }
  return [...buckets.keys()].sort((a, b) => a - b).flatMap((b) => buckets.get(b)!);
}

/** glib/ghash.c g_str_hash (djb2 over signed chars). */
function strHash(s: string): number {
  let h = 5381;
  for (const byte of Buffer.from(s, 'utf8')) h = (Math.imul(h, 33) + (byte > 127 ? byte - 256 : byte)) >>> 0;
  return h;
}

const PRIME_MOD = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521];
const UNUSED = 0;
const TOMBSTONE = 1;

/** A GHashTable<string, NULL> with GLib 2.74's slot layout (only what the visitor uses). */
class GHashTable {
  size = 8;
  mod = 7;
  mask = 7;
  nnodes = 0;
  noccupied = 0;
  hashes: number[] = new Array<number>(8).fill(UNUSED);
  keys: (string | null)[] = new Array<string | null>(8).fill(null);

  private toIndex(hash: number): number {
    return Number((BigInt(hash) * 11n) & BigInt(U32)) % this.mod;
  }

  private lookup(key: string): { index: number; hash: number; found: boolean } {
    let hash = strHash(key);
    if (hash < 2) hash = 2;
    let index = this.toIndex(hash);
    let step = 0;
    let tomb = -1;
    while (this.hashes[index] !== UNUSED) {
      if (this.hashes[index] === hash && this.keys[index] === key) return { index, hash, found: true };
      if (this.hashes[index] === TOMBSTONE && tomb < 0) tomb = index;
      step++;
      index = (index + step) & this.mask;
    }
    return { index: tomb >= 0 ? tomb : index, hash, found: false };
  }

  insert(key: string): void {
    const { index, hash, found } = this.lookup(key);
    if (found) return;
    const wasUnused = this.hashes[index] === UNUSED;
    this.hashes[index] = hash;
    this.keys[index] = key;
    this.nnodes++;
    if (wasUnused) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  remove(key: string): void {
    const { index, found } = this.lookup(key);
    if (!found) return;
    this.hashes[index] = TOMBSTONE;
    this.keys[index] = null;
    this.nnodes--;
    this.maybeResize();
  }

  private maybeResize(): void {
    if ((this.size > this.nnodes * 4 && this.size > 8) || this.size <= this.noccupied + Math.floor(this.noccupied / 16)) this.resize();
  }

  private resize(): void {
    const oldSize = this.size;
    let n = Math.trunc(this.nnodes * 1.333);
    let shift = 0;
    while (n) {
      shift++;
      n >>= 1;
    }
    shift = Math.max(shift, 3);
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
    const span = Math.max(oldSize, this.size);
    while (this.hashes.length < span) {
      this.hashes.push(UNUSED);
      this.keys.push(null);
    }
    const moved = new Array<boolean>(span).fill(false);
    // glib resize_map: relocate in place, evicting whatever sits in the target slot.
    for (let i = 0; i < oldSize; i++) {
      let nodeHash = this.hashes[i]!;
      if (nodeHash < 2) {
        this.hashes[i] = UNUSED;
        continue;
      }
      if (moved[i]) continue;
      this.hashes[i] = UNUSED;
      let key = this.keys[i]!;
      this.keys[i] = null;
      for (;;) {
        let idx = this.toIndex(nodeHash);
        let step = 0;
        while (moved[idx]) {
          step++;
          idx = (idx + step) & this.mask;
        }
        moved[idx] = true;
        const replacedHash = this.hashes[idx]!;
        const replacedKey = this.keys[idx]!;
        this.hashes[idx] = nodeHash;
        this.keys[idx] = key;
        if (replacedHash < 2) break;
        nodeHash = replacedHash;
        key = replacedKey;
      }
    }
    this.hashes.length = this.size;
    this.keys.length = this.size;
    this.noccupied = this.nnodes;
  }

  first(): string | null {
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= 2) return this.keys[i]!;
    return null;
  }
}

/**
 * The unknown key QEMU reports: keys of the -smp dict as written (the implied `cpus` included),
 * the schema members visited in order (removed), then the first remaining key in slot order.
 */
export function firstUnexpectedKey(written: string[], members: readonly string[]): string | null {
  const table = new GHashTable();
  for (const k of qdictOrder(written)) table.insert(k);
  for (const m of members) if (written.includes(m)) table.remove(m);
  return table.first();
}
