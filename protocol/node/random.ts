// Seeded random values for property and fuzz tests of the codecs and the wire layer (Node only).
// A seed makes every failure reproducible: tests print it with the failing case.

export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to drive tests. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  const r: Rng = {
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r.int(256);
      return b;
    },
    pick: (xs) => xs[r.int(xs.length)],
  };
  return r;
}

const EDGE_INTS = [0, 1, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991];
const TEXTS = ['', 'a', 'tmpfs', '/usr/bin/ls', 'é', '水', '𐅑', 'ü/ß', 'x'.repeat(24), 'y'.repeat(300)];

/** A random integer, biased to the boundaries of CBOR's head sizes, within ±(2^53−1). */
export function randomInt(r: Rng): number {
  const v = r.chance(0.5) ? r.pick(EDGE_INTS) : r.chance(0.5) ? r.int(1000) : Math.floor(r.int(4294967296) * 2097152 + r.int(2097152)) % 9007199254740991;
  return r.chance(0.3) && v !== 0 ? -v : v;
}

export function randomText(r: Rng): string {
  if (r.chance(0.5)) return r.pick(TEXTS);
  let s = '';
  const n = r.int(12);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(r.chance(0.8) ? 32 + r.int(95) : r.chance(0.5) ? 0xa0 + r.int(0x700) : 0x10000 + r.int(0x1000));
  return s;
}

/** A random value inside the codec profile (what both codecs must encode identically). */
export function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 5 : 7);
  switch (k) {
    case 0:
      return randomInt(r);
    case 1:
      return randomText(r);
    case 2:
      return r.bytes(r.chance(0.9) ? r.int(40) : r.int(600));
    case 3:
      return r.pick([true, false, null]);
    case 4:
      return r.int(1000);
    case 5: {
      const n = r.chance(0.95) ? r.int(6) : 24 + r.int(300);
      const a: unknown[] = [];
      for (let i = 0; i < n; i++) a.push(randomValue(r, depth + 1));
      return a;
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = r.int(6);
      for (let i = 0; i < n; i++) o[r.chance(0.3) ? String(randomInt(r)) : randomText(r)] = randomValue(r, depth + 1);
      return o;
    }
  }
}
