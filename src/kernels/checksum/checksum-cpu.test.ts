import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../testing/random';
import { checksumHex, paramChecksumCpu, paramChecksumCpuSliced } from './checksum-cpu';
import { fmix32, lowbias32 } from './u32-mix';

/** n random bit patterns (NaNs, infinities and subnormals included) viewed as f32. */
function randomBits(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) bits[i] = Math.floor(rand() * 4294967296);
  return new Float32Array(bits.buffer);
}

function withBits(data: Float32Array, i: number, bits: number): Float32Array {
  const out = data.slice();
  new Uint32Array(out.buffer)[i] = bits >>> 0;
  return out;
}

function bitsAt(data: Float32Array, i: number): number {
  return new Uint32Array(data.buffer, data.byteOffset, data.length)[i];
}

describe('CPU checksum', () => {
  const data = randomBits(1000, 5);
  const base = paramChecksumCpu(data);

  it('returns two u32 words and is a pure function of the bits', () => {
    for (const w of base) expect(Number.isInteger(w) && w >= 0 && w <= 0xffffffff).toBe(true);
    expect(paramChecksumCpu(data.slice())).toEqual(base);
    expect(checksumHex(base)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('the finalizers match published values', () => {
    // MurmurHash3 fmix32 and lowbias32 fix 0 and scramble 1.
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    expect(lowbias32(0)).toBe(0);
  });

  it('changes both words on any one-bit flip', () => {
    for (const i of [0, 1, 500, 999]) {
      for (const bit of [0, 22, 23, 31]) {
        const got = paramChecksumCpu(withBits(data, i, bitsAt(data, i) ^ (1 << bit)));
        expect(got[0]).not.toBe(base[0]);
        expect(got[1]).not.toBe(base[1]);
      }
    }
  });

  it('tells +0 from −0 and NaN payloads apart', () => {
    const zeros = new Float32Array(8);
    const z = paramChecksumCpu(zeros);
    expect(paramChecksumCpu(withBits(zeros, 3, 0x80000000))).not.toEqual(z);
    const nan = withBits(zeros, 3, 0x7fc00000);
    expect(paramChecksumCpu(withBits(zeros, 3, 0x7fc00001))).not.toEqual(paramChecksumCpu(nan));
  });

  it('changes when two different elements swap', () => {
    for (const [i, j] of [[0, 1], [3, 997], [10, 11]]) {
      // Through the bit view: assigning f32 values could canonicalize NaNs.
      const s = withBits(withBits(data, i, bitsAt(data, j)), j, bitsAt(data, i));
      expect(paramChecksumCpu(s)[0]).not.toBe(base[0]);
      expect(paramChecksumCpu(s)[1]).not.toBe(base[1]);
    }
    // Equal values swapped are the same buffer.
    const twin = withBits(data, 7, bitsAt(data, 3));
    const twinSwapped = withBits(withBits(twin, 3, bitsAt(twin, 7)), 7, bitsAt(twin, 3));
    expect(paramChecksumCpu(twinSwapped)).toEqual(paramChecksumCpu(twin));
  });

  it('changes with the length, also for trailing zeros', () => {
    expect(paramChecksumCpu(data.subarray(0, 999))).not.toEqual(base);
    const padded = new Float32Array(1001);
    padded.set(data);
    expect(paramChecksumCpu(padded)).not.toEqual(base);
    expect(paramChecksumCpu(new Float32Array(0))).not.toEqual(paramChecksumCpu(new Float32Array(1)));
    expect(paramChecksumCpu(new Float32Array(64))).not.toEqual(paramChecksumCpu(new Float32Array(128)));
  });

  it('reads a subarray at its own offset', () => {
    const big = randomBits(50, 9);
    expect(paramChecksumCpu(big.subarray(10, 30))).toEqual(paramChecksumCpu(big.slice(10, 30)));
  });

  it('the sliced checksum is the same in any slice size, and still sees every word', async () => {
    const big = randomBits(1000, 4);
    for (const slice of [1, 7, 256, 999, 1000, 5000]) expect(await paramChecksumCpuSliced(big, slice)).toEqual(paramChecksumCpu(big));
    expect(await paramChecksumCpuSliced(withBits(big, 999, bitsAt(big, 999) ^ 1), 7)).not.toEqual(paramChecksumCpu(big));
  });
});
