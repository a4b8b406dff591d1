/**
 * The witness bitmap (docs/run.md "Events"): hex, LSB-first, bit i of byte
 * ⌊i/8⌋ says "holds slot i's payload". Exactly ⌈slots/8⌉ bytes with the
 * padding bits zero, so every set of slots has exactly one encoding and the
 * stored state never holds two spellings of the same report.
 */

export function bitmapBytes(slots: number): number {
  return Math.ceil(slots / 8);
}

export function encodeBitmap(held: readonly boolean[]): string {
  const bytes = new Array<number>(bitmapBytes(held.length)).fill(0);
  held.forEach((bit, i) => {
    if (bit) bytes[i >> 3] |= 1 << (i & 7);
  });
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Why `hex` is not a canonical bitmap over `slots` slots, or null when it is. */
export function bitmapError(hex: unknown, slots: number): string | null {
  if (typeof hex !== 'string') return 'bitmap must be a hex string';
  if (!/^[0-9a-f]*$/.test(hex)) return 'bitmap must be lowercase hex';
  const want = 2 * bitmapBytes(slots);
  if (hex.length !== want) return `bitmap must be ${want / 2} bytes (${want} hex chars) for ${slots} slots, got ${hex.length} hex chars`;
  const spare = slots % 8;
  if (spare !== 0 && parseInt(hex.slice(-2), 16) >> spare !== 0) return `bitmap sets padding bits beyond slot ${slots - 1}`;
  return null;
}

/** The held flags per slot; throws on a non-canonical bitmap (check with `bitmapError` first for untrusted input). */
export function decodeBitmap(hex: string, slots: number): boolean[] {
  const error = bitmapError(hex, slots);
  if (error !== null) throw new RangeError(error);
  return Array.from({ length: slots }, (_, i) => ((parseInt(hex.slice(2 * (i >> 3), 2 * (i >> 3) + 2), 16) >> (i & 7)) & 1) === 1);
}
