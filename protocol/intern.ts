// The shared intern table (SPEC.md §4): a fixed number of slots, each holding one file version or
// one process, so an event names them by slot instead of resending them. Only the encoder (the
// host, which sends EVENT) decides what goes where: every insert names its slot, so overwriting
// a slot is the eviction and the decoder (the engine) never runs a policy of its own. Both ends
// clear the table on link reset and size it to the smaller of the two HELLO `internSlots`.
//
// Portable (Espruino profile). The decoder side is arrays indexed by slot. The encoder side
// finds a value by a hash of its encoding in an object used as a dictionary, then compares the
// bytes; it runs on the host only (the engine never sends EVENT), where that object is a hash map.

import { equalBytes } from './bytes.js';

/** What a slot holds. */
export const INTERN_KIND = { FILE: 0, PROC: 1 } as const;

const EMPTY = 255;

/** The decoder's table: slot → (kind, value). */
export class InternTable {
  slots: number;
  private kinds: Uint8Array;
  private values: unknown[];

  constructor(slots: number) {
    this.slots = 0;
    this.kinds = new Uint8Array(0);
    this.values = [];
    this.reset(slots);
  }

  /** Forget every slot and resize (link reset, or HELLO agreed a size). */
  reset(slots: number): void {
    this.slots = slots;
    this.kinds = new Uint8Array(slots);
    this.kinds.fill(EMPTY);
    this.values = [];
    for (let i = 0; i < slots; i++) this.values.push(null);
  }

  /** The value in `slot` if it holds one of `kind`, else undefined. */
  get(slot: number, kind: number): unknown {
    if (slot >= this.slots || this.kinds[slot] !== kind) return undefined;
    return this.values[slot];
  }

  kindAt(slot: number): number {
    return slot < this.slots ? this.kinds[slot] : EMPTY;
  }

  /** Overwrite `slot`; returns what it held, for `restore` (an EVENT applies all its inserts or none). */
  put(slot: number, kind: number, value: unknown): { kind: number; value: unknown } {
    const old = { kind: this.kinds[slot], value: this.values[slot] };
    this.kinds[slot] = kind;
    this.values[slot] = value;
    return old;
  }

  restore(slot: number, old: { kind: number; value: unknown }): void {
    this.kinds[slot] = old.kind;
    this.values[slot] = old.value;
  }
}

/**
 * A 32-bit hash of an encoding (×31 + byte: exact in doubles, no Math.imul), to index the table.
 * Long encodings (signature xattrs) are sampled: the ends in full, every 7th byte between. A
 * collision costs a miss (the bytes are compared before any hit), never a wrong reference.
 */
function hashKey(kind: number, enc: Uint8Array): string {
  const n = enc.length;
  let h = 0;
  if (n <= 128) {
    for (let i = 0; i < n; i++) h = (h * 31 + enc[i]) | 0;
  } else {
    for (let i = 0; i < 64; i++) h = (h * 31 + enc[i]) | 0;
    for (let i = 64; i < n - 64; i += 7) h = (h * 31 + enc[i]) | 0;
    for (let i = n - 64; i < n; i++) h = (h * 31 + enc[i]) | 0;
  }
  return kind + ':' + n + ':' + h;
}

/**
 * The encoder's table: which slot holds which value (by its kind and encoding), and which slot to overwrite next: a never-used slot first, then the least recently
 * used one that the current batch does not reference (a batch's inserts all apply before its
 * events, so a slot referenced by the batch must keep its value until the batch ends).
 */
export class InternChooser {
  slots: number;
  private keys: string[];
  private encs: Uint8Array[];
  private index: { [key: string]: number };
  private lastUse: number[];
  private pins: number[];
  private clock: number;
  private batch: number;
  private nextFree: number;

  constructor(slots: number) {
    this.slots = 0;
    this.keys = [];
    this.encs = [];
    this.index = {};
    this.lastUse = [];
    this.pins = [];
    this.clock = 0;
    this.batch = 1;
    this.nextFree = 0;
    this.reset(slots);
  }

  reset(slots: number): void {
    this.slots = slots;
    this.keys = [];
    this.encs = [];
    this.lastUse = [];
    this.pins = [];
    for (let i = 0; i < slots; i++) {
      this.keys.push('');
      this.encs.push(new Uint8Array(0));
      this.lastUse.push(0);
      this.pins.push(0);
    }
    this.index = {};
    this.clock = 0;
    this.batch = 1;
    this.nextFree = 0;
  }

  /** Start a new batch: no slot is pinned. */
  beginBatch(): void {
    this.batch++;
  }

  /** The slot holding this value (its kind and deterministic encoding), or −1. */
  lookup(kind: number, enc: Uint8Array): number {
    const s = this.index[hashKey(kind, enc)];
    return s === undefined || !equalBytes(this.encs[s], enc) ? -1 : s;
  }

  /** Reference `slot` in the current batch; returns the previous pin for `unpin`. */
  pin(slot: number): number {
    const old = this.pins[slot];
    this.pins[slot] = this.batch;
    return old;
  }

  unpin(slot: number, old: number): void {
    this.pins[slot] = old;
  }

  /** The slot to overwrite for a new value, or −1 when every slot is referenced by the current batch. */
  choose(): number {
    if (this.nextFree < this.slots && this.pins[this.nextFree] !== this.batch) return this.nextFree;
    let best = -1;
    let bestUse = Infinity;
    for (let i = 0; i < this.slots; i++) {
      if (this.pins[i] !== this.batch && this.lastUse[i] < bestUse) {
        best = i;
        bestUse = this.lastUse[i];
      }
    }
    return best;
  }

  /** Record that `slot` now holds this value (the encoder sends the insert). */
  assign(slot: number, kind: number, enc: Uint8Array): void {
    const old = this.keys[slot];
    // On a hash collision the index names the newer slot; the older one stays until evicted.
    if (old !== '' && this.index[old] === slot) delete this.index[old];
    const key = hashKey(kind, enc);
    this.keys[slot] = key;
    // A copy: a codec may return a view of a buffer it reuses.
    this.encs[slot] = enc.slice();
    this.index[key] = slot;
    while (this.nextFree < this.slots && this.keys[this.nextFree] !== '') this.nextFree++;
  }

  /** Mark `slot` empty in the encoder's view (its insert was never sent). */
  forget(slot: number): void {
    const old = this.keys[slot];
    if (old !== '' && this.index[old] === slot) delete this.index[old];
    this.keys[slot] = '';
    this.encs[slot] = new Uint8Array(0);
    this.lastUse[slot] = 0;
    if (slot < this.nextFree) this.nextFree = slot;
  }

  touch(slot: number): void {
    this.lastUse[slot] = ++this.clock;
  }
}
