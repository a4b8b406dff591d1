/**
 * Bijections of u32 in JS's wrapping arithmetic (Math.imul, xor, logical
 * shifts), which JS and WGSL define identically: the mixers of
 * shaders/checksum.wgsl, and a fast hash wherever else one is needed (the
 * copy check's sketch, src/verify/sketch.ts). Keep the constants in step
 * with the shader.
 */

/** MurmurHash3's 32-bit finalizer (a bijection of u32). */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Wellons' lowbias32 (another bijection of u32). */
export function lowbias32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
