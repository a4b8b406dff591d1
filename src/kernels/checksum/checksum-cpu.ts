/**
 * The parameter checksum of shaders/checksum.wgsl, computed on the CPU word
 * for word from a Float32Array's bit patterns. Not a reference: the
 * coordinator makes checkpoints without a GPU, and the checksum it records
 * must be the very bits a client's GPU reports. Everything is u32 wrapping
 * arithmetic (Math.imul, xor, logical shifts), which JS and WGSL define
 * identically. Keep the constants in step with the shader.
 */

import { fmix32, lowbias32 } from './u32-mix';

function mixA(bits: number, i: number): number {
  return fmix32(bits ^ ((Math.imul(i, 0x9e3779b9) + 0x632be5ab) | 0));
}

function mixB(bits: number, i: number): number {
  return lowbias32(bits ^ ((Math.imul(i, 0x85ebca77) + 0x27d4eb2f) | 0));
}

/**
 * [lane A, lane B] as u32: A = fmix32((Σᵢ mixA(bitsᵢ, i) mod 2³²) ⊕ keyA(n)),
 * B = lowbias32((⊕ᵢ mixB(bitsᵢ, i)) ⊕ keyB(n)).
 */
export function paramChecksumCpu(data: Float32Array): [number, number] {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  return finish(lanes(bits, 0, bits.length, [0, 0]), bits.length);
}

/**
 * The same checksum, computed `slice` words at a time with a macrotask
 * between slices: the coordinator checks a 100 M-parameter upload this way
 * without holding its event loop (ticks, sockets) for the whole pass. The
 * sum and the xor do not care how the words are grouped.
 */
export async function paramChecksumCpuSliced(data: Float32Array, slice = 1 << 20): Promise<[number, number]> {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let acc: [number, number] = [0, 0];
  for (let from = 0; from < bits.length; from += slice) {
    acc = lanes(bits, from, Math.min(bits.length, from + slice), acc);
    await new Promise((r) => setTimeout(r, 0));
  }
  return finish(acc, bits.length);
}

function lanes(bits: Uint32Array, from: number, to: number, [a, b]: [number, number]): [number, number] {
  for (let i = from; i < to; i++) {
    a = (a + mixA(bits[i], i)) | 0;
    b ^= mixB(bits[i], i);
  }
  return [a, b];
}

function finish([a, b]: [number, number], n: number): [number, number] {
  return [
    fmix32(a ^ ((Math.imul(n, 0xc2b2ae35) + 0x165667b1) | 0)),
    lowbias32(b ^ ((Math.imul(n, 0xcc9e2d51) + 0x1b873593) | 0)),
  ];
}

/** The checksum as 16 hex digits (lane A then lane B), for logs and wire messages. */
export function checksumHex(words: ArrayLike<number>): string {
  return Array.from({ length: 2 }, (_, k) => (words[k] >>> 0).toString(16).padStart(8, '0')).join('');
}
