// The shared intern table (SPEC.md §4): a fixed number of slots, each holding one file version or
// one process, so an event names them by slot instead of resending them. Only the encoder (the
// host, which sends EVENT) decides what goes where: every insert names its slot, so overwriting
// a slot is the eviction and the decoder (the engine) never runs a policy of its own. Both ends
// clear the table on link reset and size it to the smaller of the two HELLO `internSlots`.
//
// Portable (Espruino profile). The decoder side is arrays indexed by slot. The encoder side (the
// host only: the engine never sends EVENT) finds a value by a 32-bit key in an open-addressed
// table of typed arrays: no strings are built or interned per event.

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
 * The encoder's table: which slot holds which value, and which slot to overwrite next: a
 * never-used slot first, then the least recently used one that the current batch does not
 * reference (a batch's inserts all apply before its events, so a slot referenced by the batch must
 * keep its value until the batch ends). Values are found by a 32-bit key the caller derives from
 * their fields (a hash: two values may share one); the caller compares the whole value with the
 * slot's snapshot before using a slot.
 */
export class InternChooser {
  slots: number;
  private values: unknown[];
  // Each slot's key, and whether it has one (an empty slot has none).
  private keys: Int32Array;
  private keyed: Uint8Array;
  // key → slot, linear probing over a power of two at least twice `slots`; entries are slot + 1
  // (0: empty). One entry per key: the slot most recently assigned under it.
  private index: Int32Array;
  // Slots in use order, a doubly linked list through `prev`/`next` with node `slots` as its
  // sentinel: next[slots] is the least recently used (never-used and forgotten slots sit there),
  // prev[slots] the most recent. Choosing and touching are O(1), not a scan of every slot.
  private prev: Int32Array;
  private next: Int32Array;
  private pins: Int32Array;
  private batch: number;

  constructor(slots: number) {
    this.slots = 0;
    this.values = [];
    this.keys = new Int32Array(0);
    this.keyed = new Uint8Array(0);
    this.index = new Int32Array(1);
    this.prev = new Int32Array(1);
    this.next = new Int32Array(1);
    this.pins = new Int32Array(0);
    this.batch = 1;
    this.reset(slots);
  }

  reset(slots: number): void {
    this.slots = slots;
    this.values = [];
    for (let i = 0; i < slots; i++) this.values.push(null);
    this.keys = new Int32Array(slots);
    this.keyed = new Uint8Array(slots);
    let size = 2;
    while (size < slots * 2) size *= 2;
    this.index = new Int32Array(size);
    this.prev = new Int32Array(slots + 1);
    this.next = new Int32Array(slots + 1);
    // In slot order: unused slots are chosen lowest first.
    for (let i = 0; i <= slots; i++) {
      this.next[i] = i === slots ? 0 : i + 1;
      this.prev[i] = i === 0 ? slots : i - 1;
    }
    this.pins = new Int32Array(slots);
    this.batch = 1;
  }

  /** Start a new batch: no slot is pinned. */
  beginBatch(): void {
    this.batch++;
  }

  /** The slot last assigned under `key`, or −1: a candidate, whose value the caller compares. */
  lookup(key: number): number {
    const mask = this.index.length - 1;
    for (let i = key & mask; ; i = (i + 1) & mask) {
      const e = this.index[i];
      if (e === 0) return -1;
      if (this.keys[e - 1] === (key | 0)) return e - 1;
    }
  }

  /** The snapshot `slot` holds (what the decoder has there). */
  value(slot: number): unknown {
    return this.values[slot];
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

  /** The slot to overwrite for a new value: the least recently used one the current batch does not
   * reference, or −1 when the batch references them all. Skips at most the batch's own pins. */
  choose(): number {
    const end = this.slots;
    for (let s = this.next[end]; s !== end; s = this.next[s]) if (this.pins[s] !== this.batch) return s;
    return -1;
  }

  /** Record that `slot` now holds `value` (a snapshot the caller will not change), found by `key`. */
  assign(slot: number, key: number, value: unknown): void {
    this.unindex(slot);
    this.keys[slot] = key;
    this.keyed[slot] = 1;
    this.values[slot] = value;
    // Two values under one key: the index names the newer; the older stays until evicted.
    const mask = this.index.length - 1;
    let i = key & mask;
    while (this.index[i] !== 0 && this.keys[this.index[i] - 1] !== (key | 0)) i = (i + 1) & mask;
    this.index[i] = slot + 1;
    this.touch(slot);
  }

  /** Mark `slot` empty in the encoder's view (its insert was never sent): it is chosen first again. */
  forget(slot: number): void {
    this.unindex(slot);
    this.values[slot] = null;
    this.unlink(slot);
    this.linkAfter(slot, this.slots);
  }

  /** Drop `slot`'s key from the index if the index names it, closing the gap behind it so that
   * probing stays correct without tombstones. */
  private unindex(slot: number): void {
    if (!this.keyed[slot]) return;
    this.keyed[slot] = 0;
    const idx = this.index;
    const mask = idx.length - 1;
    let i = this.keys[slot] & mask;
    while (idx[i] !== 0 && idx[i] !== slot + 1) i = (i + 1) & mask;
    if (idx[i] === 0) return;
    idx[i] = 0;
    for (let j = (i + 1) & mask; idx[j] !== 0; j = (j + 1) & mask) {
      // An entry may move back into the gap unless its home lies cyclically in (i, j].
      const home = this.keys[idx[j] - 1] & mask;
      if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
      idx[i] = idx[j];
      idx[j] = 0;
      i = j;
    }
  }

  touch(slot: number): void {
    this.unlink(slot);
    this.linkAfter(slot, this.prev[this.slots]);
  }

  private unlink(s: number): void {
    const p = this.prev[s];
    const n = this.next[s];
    this.next[p] = n;
    this.prev[n] = p;
  }

  private linkAfter(s: number, at: number): void {
    const n = this.next[at];
    this.prev[s] = at;
    this.next[s] = n;
    this.prev[n] = s;
    this.next[at] = s;
  }
}
