// Consistent Overhead Byte Stuffing (Cheshire & Baker 1999), as SPEC.md §1.2 pins it down.
// Written block-wise: zero bytes are found with native indexOf and runs are moved with
// subarray/set, because a per-byte JavaScript loop is the dominant cost on the board
// (espruino-serial-cbor.md §1.12: 9 ms vs 0.5 ms per KB). Short runs are copied byte by byte,
// where the three native calls cost more than the loop.
//
// Portable (Espruino profile).

/** Runs shorter than this are copied with a loop; longer ones with subarray/set. */
const SHORT_RUN = 8;

/** Largest encoded size of `n` source bytes (without the 0x00 delimiter). */
export function cobsMaxEncoded(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

function copyRun(src: Uint8Array, from: number, to: number, dst: Uint8Array, at: number): void {
  const n = to - from;
  if (n < SHORT_RUN) {
    for (let k = 0; k < n; k++) dst[at + k] = src[from + k];
  } else dst.set(src.subarray(from, to), at);
}

/**
 * Encode `src[0, len)` into `dst` at `at`. Returns the offset just past the encoded bytes, or -1
 * when `dst` is too small (it needs `cobsMaxEncoded(len)` bytes from `at`). Writes no delimiter.
 */
export function cobsEncodeInto(src: Uint8Array, len: number, dst: Uint8Array, at: number): number {
  if (dst.length - at < cobsMaxEncoded(len)) return -1;
  let o = at;
  let i = 0;
  for (;;) {
    let z = src.indexOf(0, i);
    if (z < 0 || z >= len) z = -1;
    const end = z < 0 ? len : z;
    const runStart = i;
    // A run of 254 non-zero bytes is one 0xFF block with no implied zero after it.
    while (end - i >= 254) {
      dst[o] = 0xff;
      copyRun(src, i, i + 254, dst, o + 1);
      o += 255;
      i += 254;
    }
    const r = end - i;
    // The last run needs its own block unless it ended exactly on a 0xFF block (and is not empty).
    if (z >= 0 || r > 0 || end === runStart) {
      dst[o] = r + 1;
      copyRun(src, i, end, dst, o + 1);
      o += r + 1;
    }
    if (z < 0) return o;
    i = z + 1;
  }
}

export function cobsEncode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncoded(src.length));
  return out.subarray(0, cobsEncodeInto(src, src.length, out, 0));
}

/** Outcome of a decode that is not a length: the input is not valid COBS. */
export const COBS_ZERO_IN_INPUT = -1;
export const COBS_TRUNCATED = -2;
export const COBS_OVERFLOW = -3;

/**
 * Decode `src[0, len)` (the bytes between two delimiters) into `dst` from 0. Returns the decoded
 * length, or a negative COBS_* status: a 0x00 inside the input, a block whose code runs past the
 * end, or output beyond `dst.length`. Never throws.
 */
export function cobsDecodeInto(src: Uint8Array, len: number, dst: Uint8Array): number {
  const zero = src.indexOf(0);
  if (zero >= 0 && zero < len) return COBS_ZERO_IN_INPUT;
  const cap = dst.length;
  let o = 0;
  let i = 0;
  while (i < len) {
    const code = src[i];
    const n = code - 1;
    if (i + 1 + n > len) return COBS_TRUNCATED;
    if (o + n > cap) return COBS_OVERFLOW;
    copyRun(src, i + 1, i + 1 + n, dst, o);
    o += n;
    i += code;
    if (code !== 0xff && i < len) {
      if (o >= cap) return COBS_OVERFLOW;
      dst[o++] = 0;
    }
  }
  return o;
}

/** Decode a whole COBS block into a new array; null when it is not valid COBS. */
export function cobsDecode(src: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(src.length);
  const n = cobsDecodeInto(src, src.length, out);
  return n < 0 ? null : out.subarray(0, n);
}
