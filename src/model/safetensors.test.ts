import { describe, expect, it } from 'vitest';
import { mulberry32, randomFloats } from '../kernels/testing/random';
import { decodeSafetensors, encodeSafetensors, halfToFloat, SafetensorsError, type Tensor } from './safetensors';
import { mutate, rawSafetensors } from './test-helpers';

function sample(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['a.weight', { shape: [3, 5], data: Float32Array.from(randomFloats(15, 1)) }],
    ['b', { shape: [7], data: Float32Array.from(randomFloats(7, 2)) }],
    ['scalar', { shape: [], data: Float32Array.of(-0) }],
    ['empty', { shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

function bits(x: Float32Array): number[] {
  return Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
}

describe('safetensors encode/decode', () => {
  it('round trips bit-exactly, with metadata, in order, data 8-byte aligned', () => {
    const tensors = sample();
    const odd = new Float32Array(3);
    new Uint32Array(odd.buffer).set([0x7fa00001, 0xff800000, 0x00000001]); // NaN payload, −Inf, subnormal
    tensors.set('odd', { shape: [3], data: odd });
    const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'hé' });
    const headerLen = new DataView(bytes.buffer).getUint32(0, true);
    expect((8 + headerLen) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'hé' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const got = back.tensors.get(name)!;
      expect(got.dtype).toBe('F32');
      expect(got.shape).toEqual(t.shape);
      expect(bits(got.data), name).toEqual(bits(t.data));
    }
    expect(decodeSafetensors(encodeSafetensors(new Map())).tensors.size).toBe(0);
    expect(decodeSafetensors(encodeSafetensors(new Map())).metadata).toBeNull();
  });

  it('reads a file laid out by hand as the spec describes, and widens F16/BF16', () => {
    const data = new Uint8Array(8 + 8 + 4);
    const view = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((h, i) => view.setUint16(2 * i, h, true)); // 1, −2, 2^−24, +Inf
    [0x3f80, 0xc0a0, 0x0000, 0x8000].forEach((h, i) => view.setUint16(8 + 2 * i, h, true)); // 1, −5, 0, −0
    view.setFloat32(16, 0.25, true);
    // Tensors listed out of offset order, as other writers may do.
    const bytes = rawSafetensors({
      f32: { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
      half: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
      brain: { dtype: 'BF16', shape: [4], data_offsets: [8, 16] },
    }, data);
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.get('half')!.data)).toEqual([1, -2, 2 ** -24, Infinity]);
    expect(tensors.get('half')!.dtype).toBe('F16');
    expect(Array.from(tensors.get('brain')!.data)).toEqual([1, -5, 0, -0]);
    expect(Object.is(tensors.get('brain')!.data[3], -0)).toBe(true);
    expect(Array.from(tensors.get('f32')!.data)).toEqual([0.25]);
  });

  it('halfToFloat covers normals, subnormals, zero, infinities and NaN', () => {
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0400)).toBe(2 ** -14);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('the encoder refuses what it cannot write', () => {
    const enc = (name: string, t: Tensor, metadata?: Record<string, string>) => () => encodeSafetensors(new Map([[name, t]]), metadata);
    expect(enc('x', { shape: [2, 2], data: new Float32Array(3) })).toThrow(/"x" has 3 elements but shape \[2, 2\] needs 4/);
    expect(enc('x', { shape: [-1], data: new Float32Array(0) })).toThrow(/"x" has an invalid shape/);
    expect(enc('x', { shape: [2], data: new Float64Array(2) as unknown as Float32Array })).toThrow(/must be a Float32Array/);
    expect(enc('', { shape: [0], data: new Float32Array(0) })).toThrow(/must not be empty/);
    expect(enc('__metadata__', { shape: [0], data: new Float32Array(0) }, {})).toThrow(/reserved/);
  });
});

describe('safetensors decoder is strict', () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(5), /5 bytes, too short/],
    ['header length > 2^32', Uint8Array.of(2, 0, 0, 0, 1, 0, 0, 0, 0x7b, 0x7d), /exceeds the 100000000-byte limit/],
    ['header past the end', (() => { const b = rawSafetensors({}); new DataView(b.buffer).setUint32(0, 50, true); return b; })(), /header length 50 runs past the end of the 10-byte file/],
    ['tiny header', (() => { const b = rawSafetensors({}); new DataView(b.buffer).setUint32(0, 1, true); return b; })(), /header length 1 is too small/],
    ['bad UTF-8', rawSafetensors(null, [], '{"\xff"}').map((x, i) => (i === 10 ? 0xff : x)), /not valid UTF-8/],
    ['not JSON', rawSafetensors(null, [], '{"a": }'), /not valid JSON/],
    ['not an object', rawSafetensors(null, [], '{}').map((x, i) => (i === 8 ? 0x5b : i === 9 ? 0x5d : x)), /must start with "{"/],
    ['unknown dtype', rawSafetensors({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, f32(1)), /tensor "w": dtype "F33" is not a safetensors dtype/],
    ['unsupported dtype', rawSafetensors({ w: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, f32(1)), /tensor "w": dtype "I32" is not supported/],
    ['shape vs span', rawSafetensors({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, f32(3)), /tensor "w": shape \[2, 2\] of F32 needs 16 bytes, but data_offsets \[0, 12\] span 12/],
    ['huge shape', rawSafetensors({ w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40, 0.5 * 2], data_offsets: [0, 4] } }, f32(1)), /tensor "w": shape \[1099511627776, 1099511627776, 1\] of F32 needs more than 18446744073709551616 bytes/],
    ['offsets past the data', rawSafetensors({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1)), /tensor "w": data_offsets \[0, 8\] run past the 4-byte data section/],
    ['offsets reversed', rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(1)), /tensor "w": data_offsets \[4, 0\] end before they begin/],
    ['negative shape', rawSafetensors({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /tensor "w" has an invalid header entry[\s\S]*non-negative/],
    ['100k dimensions', rawSafetensors({ w: { dtype: 'F32', shape: new Array(1e5).fill(3), data_offsets: [0, 4] } }, f32(1)), /tensor "w": shape .* needs more than 18446744073709551616 bytes/],
    ['fractional offset', rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4.5] } }, f32(1)), /tensor "w" has an invalid header entry[\s\S]*integers/],
    ['extra field', rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, f32(1)), /tensor "w" has an invalid header entry[\s\S]*extra/],
    ['entry not an object', rawSafetensors({ w: 3 }), /tensor "w" has an invalid header entry/],
    ['overlap', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3)), /tensor "b" overlaps tensor "a"/],
    ['hole', rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(3)), /4 unreferenced bytes before tensor "b"/],
    ['trailing bytes', rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)), /4 trailing bytes after the last tensor/],
    ['duplicate key dropped by JSON.parse', rawSafetensors(null, f32(2), '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), /4 unreferenced bytes before tensor "a"/],
    ['metadata not strings', rawSafetensors({ __metadata__: { format: 1 } }), /__metadata__ value "format" must be a string/],
    ['metadata not an object', rawSafetensors({ __metadata__: 'pt' }), /__metadata__ must be an object/],
  ];
  for (const [label, bytes, message] of cases) {
    it(`rejects: ${label}`, () => {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    });
  }

  it('keeps a "__proto__" tensor or metadata key as plain data', () => {
    const bytes = rawSafetensors(null, f32(1), '{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['__proto__']);
    expect(Object.keys(metadata!)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('fuzz: mutated, truncated and extended files throw SafetensorsError or decode consistently', () => {
    const good = encodeSafetensors(sample(), { format: 'pt' });
    const headerEnd = 8 + new DataView(good.buffer).getUint32(0, true);
    const rand = mulberry32(42);
    let rejected = 0;
    for (let trial = 0; trial < 600; trial++) {
      const bytes = mutate(good, headerEnd, rand);
      let decoded;
      try {
        decoded = decodeSafetensors(bytes);
      } catch (e) {
        expect(e, `trial ${trial}`).toBeInstanceOf(SafetensorsError);
        expect((e as Error).message.length).toBeGreaterThan(15);
        rejected++;
        continue;
      }
      // Whatever decodes must be self-consistent and re-encode to the same tensors.
      for (const [name, t] of decoded.tensors) {
        expect(t.data.length, name).toBe(t.shape.reduce((a, b) => a * b, 1));
      }
    }
    expect(rejected).toBeGreaterThan(300);
  });
});
