// The shared intern table (SPEC.md §4): a fixed number of slots, each holding one file version or
// one process, so an event names them by slot instead of resending them. Only the encoder (the
// host, which sends EVENT) decides what goes where: every insert names its slot, so overwriting
// a slot is the eviction and the decoder (the engine) never runs a policy of its own. Both ends
// clear the table on link reset and size it to the smaller of the two HELLO `internSlots`.
//
// Portable (Espruino profile). The decoder side is arrays indexed by slot. The encoder side finds
// a value by a key in an object used as a dictionary; it runs on the host only (the engine never
// sends EVENT), where that object is a hash map.

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
 * keep its value until the batch ends). Values are found by a key the caller derives from a few of
 * their fields; the caller compares the whole value with the slot's snapshot before using a slot.
 */
export class InternChooser {
  slots: number;
  private keys: string[];
  private values: unknown[];
  private index: { [key: string]: number };
  private lastUse: number[];
  private pins: number[];
  private clock: number;
  private batch: number;
  private nextFree: number;

  constructor(slots: number) {
    this.slots = 0;
    this.keys = [];
    this.values = [];
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
    this.values = [];
    this.lastUse = [];
    this.pins = [];
    for (let i = 0; i < slots; i++) {
      this.keys.push('');
      this.values.push(null);
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

  /** The slot last assigned under `key`, or −1: a candidate, whose value the caller compares. */
  lookup(key: string): number {
    const s = this.index[key];
    return s === undefined ? -1 : s;
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

  /** Record that `slot` now holds `value` (a snapshot the caller will not change), found by `key`. */
  assign(slot: number, key: string, value: unknown): void {
    const old = this.keys[slot];
    // Two values under one key: the index names the newer; the older stays until evicted.
    if (old !== '' && this.index[old] === slot) delete this.index[old];
    this.keys[slot] = key;
    this.values[slot] = value;
    this.index[key] = slot;
    while (this.nextFree < this.slots && this.keys[this.nextFree] !== '') this.nextFree++;
  }

  /** Mark `slot` empty in the encoder's view (its insert was never sent). */
  forget(slot: number): void {
    const old = this.keys[slot];
    if (old !== '' && this.index[old] === slot) delete this.index[old];
    this.keys[slot] = '';
    this.values[slot] = null;
    this.lastUse[slot] = 0;
    if (slot < this.nextFree) this.nextFree = slot;
  }

  touch(slot: number): void {
    this.lastUse[slot] = ++this.clock;
  }
}
