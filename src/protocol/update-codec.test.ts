import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import { randomUpdate, testRunId } from './test-helpers';
import {
  decodeUpdate,
  encodeUpdate,
  UPDATE_FORMAT_VERSION,
  UpdateDecodeError,
  UpdateEncodeError,
  type ClientUpdate,
  type ExpectedUpdate,
  type UpdateErrorCode,
} from './update-codec';

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function decodeError(bytes: Uint8Array, expectation: ExpectedUpdate): UpdateDecodeError {
  try {
    decodeUpdate(bytes, expectation);
  } catch (e) {
    if (e instanceof UpdateDecodeError) return e;
    throw e;
  }
  throw new Error('decode unexpectedly succeeded');
}

function expectDecodeError(bytes: Uint8Array, expectation: ExpectedUpdate, code: UpdateErrorCode, message?: RegExp): void {
  const err = decodeError(bytes, expectation);
  expect(err.code).toBe(code);
  if (message) expect(err.message).toMatch(message);
}

function expectEncodeError(update: ClientUpdate, oneBit: boolean, code: UpdateErrorCode, message?: RegExp): void {
  let caught: unknown;
  try {
    encodeUpdate(update, oneBit);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(UpdateEncodeError);
  expect((caught as UpdateEncodeError).code).toBe(code);
  if (message) expect((caught as UpdateEncodeError).message).toMatch(message);
}

function expectSameUpdate(actual: ClientUpdate, wanted: ClientUpdate): void {
  expect(actual.version).toBe(wanted.version);
  expect(hex(actual.runId)).toBe(hex(wanted.runId));
  expect([actual.step, actual.batchStart, actual.batchCount]).toEqual([wanted.step, wanted.batchStart, wanted.batchCount]);
  expect(actual.tensors.length).toBe(wanted.tensors.length);
  actual.tensors.forEach((t, i) => {
    const w = wanted.tensors[i];
    expect([t.shape, t.block, t.k]).toEqual([w.shape, w.block, w.k]);
    expect(Array.from(t.indices)).toEqual(Array.from(w.indices));
    // Compare bits, so -0 vs +0 or any rounding would show.
    expect(hex(new Uint8Array(t.values.buffer))).toBe(hex(new Uint8Array(w.values.buffer)));
  });
}

describe('update codec: round trip', () => {
  const awkward: ExpectedUpdate = { shapes: [[37, 52], [128, 96], [97], [300, 300]], chunk: 64, topk: 8 };

  it('derives the documented block shapes, k and widths for awkward shapes', () => {
    const u = randomUpdate(awkward.shapes, awkward.chunk, awkward.topk, true, 1);
    expect(u.tensors.map((t) => [t.block, t.k])).toEqual([
      [[37, 52], 8], // both dims ≤ chunk: one whole-tensor block of 1924 elements (u16)
      [[64, 48], 8],
      [[1], 1], // 97 is prime: 1-element blocks keep their one coefficient
      [[60, 60], 8],
    ]);
  });

  for (const oneBit of [true, false]) {
    it(`round-trips bit-exactly (${oneBit ? '1-bit' : 'f32'} values)`, () => {
      const u = randomUpdate(awkward.shapes, awkward.chunk, awkward.topk, oneBit, 2);
      const bytes = encodeUpdate(u, oneBit);
      // 42-byte header; per tensor 5+8r head bytes, indices (u16,u16,u8,u16), values.
      const n = [1 * 8, 4 * 8, 97, 25 * 8];
      const idx = 2 * n[0] + 2 * n[1] + n[2] + 2 * n[3];
      const vals = oneBit ? n.reduce((a, m) => a + Math.ceil(m / 8), 0) : 4 * n.reduce((a, m) => a + m, 0);
      expect(bytes.length).toBe(42 + (21 + 21 + 13 + 21) + idx + vals);
      const back = decodeUpdate(bytes, { ...awkward, quantize1bit: oneBit });
      expect(back.quantize1bit).toBe(oneBit);
      expectSameUpdate(back, u);
      expect(hex(encodeUpdate(back, oneBit))).toBe(hex(bytes));
    });
  }

  it('uses u32 indices for blocks over 65536 elements', () => {
    const exp: ExpectedUpdate = { shapes: [[300, 300]], chunk: 300, topk: 8 };
    const u = randomUpdate(exp.shapes, exp.chunk, exp.topk, false, 3);
    u.tensors[0].indices[7] = 89_999; // the largest valid flat index
    u.tensors[0].indices.sort();
    const bytes = encodeUpdate(u, false);
    expect(bytes[42 + 1 + 16 + 2]).toBe(32);
    expect(bytes.length).toBe(42 + 21 + 8 * 4 + 8 * 4);
    expectSameUpdate(decodeUpdate(bytes, exp), u);
  });

  it('preserves f32 bit patterns: -0, subnormals, extremes', () => {
    const exp: ExpectedUpdate = { shapes: [[8]], chunk: 8, topk: 8 };
    const u = randomUpdate(exp.shapes, exp.chunk, exp.topk, false, 4);
    u.tensors[0].values.set([-0, 0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1]);
    expectSameUpdate(decodeUpdate(encodeUpdate(u, false), exp), u);
  });

  it('matches a hand-written golden payload byte for byte', () => {
    const update: ClientUpdate = {
      version: 1,
      runId: Uint8Array.from({ length: 16 }, (_, i) => i),
      step: 7,
      batchStart: 5,
      batchCount: 2,
      tensors: [{ shape: [4], block: [2], k: 1, indices: Uint32Array.of(1, 0), values: Float32Array.of(-1, 1) }],
    };
    const golden =
      '54535255' + '0100' + '000102030405060708090a0b0c0d0e0f' + '07000000' + '0500000000000000' + '02000000' + '01000000' +
      '01' + '04000000' + '02000000' + '0100' + '08' + '01' + '0100' + '01';
    const bytes = encodeUpdate(update, true);
    expect(hex(bytes)).toBe(golden);
    expectSameUpdate(decodeUpdate(bytes, { shapes: [[4]], chunk: 2, topk: 1 }), update);
  });

  it('accepts a run with no tensors', () => {
    const u = randomUpdate([], 64, 8, true, 5);
    const bytes = encodeUpdate(u, true);
    expect(bytes.length).toBe(42);
    expect(hex(encodeUpdate(decodeUpdate(bytes, { shapes: [], chunk: 64, topk: 8 }), true))).toBe(hex(bytes));
  });
});

/*
 * A small payload whose every offset is known, for hand-made corruptions.
 * shapes [[4,6],[5]], chunk 2, top-k 2:
 *   tensor 0: block [2,2] (4 elements), k 2, 2×3 = 6 blocks → 12 entries, u8
 *   tensor 1: block [1] (5 is prime), k 1, 5 blocks → 5 entries, u8
 * 1-bit layout: tensor 0 at 42 (rank 42, shape 43, block 51, k 59, width 61,
 * flags 62, indices 63..74, signs 75..76); tensor 1 at 77 (flags 89, indices
 * 90..94, signs 95); 96 bytes. f32 layout: tensor 0 values 75..122.
 */
const SMALL: ExpectedUpdate = { shapes: [[4, 6], [5]], chunk: 2, topk: 2 };

function smallUpdate(oneBit: boolean): ClientUpdate {
  return {
    version: UPDATE_FORMAT_VERSION,
    runId: testRunId(9),
    step: 42,
    batchStart: 2 ** 40 + 3,
    batchCount: 3,
    tensors: [
      {
        shape: [4, 6],
        block: [2, 2],
        k: 2,
        indices: Uint32Array.of(0, 1, 2, 3, 1, 3, 0, 2, 0, 3, 1, 2),
        values: Float32Array.from({ length: 12 }, (_, i) => (oneBit ? (i % 3 === 0 ? -1 : 1) : i - 5.5)),
      },
      { shape: [5], block: [1], k: 1, indices: new Uint32Array(5), values: Float32Array.of(1, -1, -1, 1, 1) },
    ],
  };
}

function smallBytes(oneBit: boolean, edit?: (b: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = encodeUpdate(smallUpdate(oneBit), oneBit);
  edit?.(bytes, new DataView(bytes.buffer));
  return bytes;
}

describe('update codec: strict decoder', () => {
  it('has the layout the corruption tests assume', () => {
    expect(smallBytes(true).length).toBe(96);
    expect(smallBytes(false).length).toBe(42 + (21 + 12 + 48) + (13 + 5 + 20));
    expect(decodeUpdate(smallBytes(true), SMALL).tensors[1].values[1]).toBe(-1);
  });

  it('bad-magic, bad-version', () => {
    expectDecodeError(smallBytes(true, (b) => (b[0] = 0x58)), SMALL, 'bad-magic');
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(4, 2, true)), SMALL, 'bad-version', /version 2/);
  });

  it('truncated anywhere, including a head whose tensor would need a 32 MiB index array', () => {
    const full = smallBytes(true);
    for (const len of [0, 3, 5, 21, 41, 42, 60, 70, 76, 95]) {
      expectDecodeError(full.subarray(0, len), SMALL, 'truncated');
    }
    expectDecodeError(full.subarray(0, 70), SMALL, 'truncated', /tensor 0 indices \(12 × u8\) needs 12 bytes at offset 63, only 7 remain/);
    // The expected shape is honest but the payload stops after the head: the
    // decoder must refuse before allocating the 8M-entry index array.
    const big: ExpectedUpdate = { shapes: [[65536, 65536]], chunk: 64, topk: 8 };
    const head = new Uint8Array(42 + 21);
    head.set(full.subarray(0, 38));
    const v = new DataView(head.buffer);
    v.setUint32(38, 1, true);
    head[42] = 2;
    [65536, 65536, 64, 64].forEach((d, i) => v.setUint32(43 + 4 * i, d, true));
    v.setUint16(59, 8, true);
    head[61] = 16;
    head[62] = 1;
    expectDecodeError(head, big, 'truncated', /tensor 0 indices \(8388608 × u16\) needs 16777216 bytes/);
  });

  it('batch-range', () => {
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(34, 0, true)), SMALL, 'batch-range', /count 0/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(30, 0x0020_0000, true)), SMALL, 'batch-range', /2\^53/);
    expectDecodeError(
      smallBytes(true, (_, v) => {
        v.setUint32(26, 0xffff_ffff, true);
        v.setUint32(30, 0x001f_ffff, true);
      }),
      SMALL,
      'batch-range',
      /end/,
    );
  });

  it('tensor-count, including a hostile 2^32 − 1', () => {
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(38, 3, true)), SMALL, 'tensor-count', /3 tensors; the run has 2/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(38, 0xffff_ffff, true)), SMALL, 'tensor-count');
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[4, 6]] }, 'tensor-count');
  });

  it('rank, shape, block-shape, k, index-width against expect', () => {
    expectDecodeError(smallBytes(true, (b) => (b[42] = 1)), SMALL, 'rank', /tensor 0: rank 1; expected 2/);
    expectDecodeError(smallBytes(true, (b) => (b[77] = 3)), SMALL, 'rank', /tensor 1/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(47, 12, true)), SMALL, 'shape', /tensor 0: shape \[4,12\]; expected \[4,6\]/);
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[4, 6], [7]] }, 'shape', /tensor 1/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(51, 4, true)), SMALL, 'block-shape', /\[4,2\]; chunk 2 gives \[2,2\]/);
    // The same bytes are wrong for a run with another chunk.
    expectDecodeError(smallBytes(true), { ...SMALL, chunk: 3 }, 'block-shape', /tensor 0/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(59, 3, true)), SMALL, 'k', /tensor 0: k 3; expected 2/);
    expectDecodeError(smallBytes(true), { ...SMALL, topk: 3 }, 'k', /tensor 0: k 2; expected 3/);
    expectDecodeError(smallBytes(true, (b) => (b[61] = 16)), SMALL, 'index-width', /tensor 0: index width 16; block of 4 needs 8/);
  });

  it('flags: reserved bits, mixed modes, mode other than the run’s', () => {
    expectDecodeError(smallBytes(true, (b) => (b[62] = 0x03)), SMALL, 'flags', /tensor 0: reserved flag bits/);
    expectDecodeError(smallBytes(true, (b) => (b[89] = 0x80)), SMALL, 'flags', /tensor 1: reserved/);
    expectDecodeError(smallBytes(true, (b) => (b[89] = 0)), SMALL, 'flags', /tensor 1: unquantized values, but the update is 1-bit/);
    expectDecodeError(smallBytes(true), { ...SMALL, quantize1bit: false }, 'flags', /tensor 0/);
    expectDecodeError(smallBytes(false), { ...SMALL, quantize1bit: true }, 'flags', /tensor 0/);
  });

  it('index-range and index-order name the tensor, block and entry', () => {
    expectDecodeError(smallBytes(true, (b) => (b[64] = 4)), SMALL, 'index-range', /tensor 0 block 0 \(grid row 0, col 0\) entry 1: index 4 ≥ block elements 4/);
    expectDecodeError(smallBytes(true, (b) => (b[92] = 1)), SMALL, 'index-range', /tensor 1 block 2 entry 0: index 1 ≥ block elements 1/);
    // Block 4 is (grid row 1, col 1) in the 2×3 grid; its entries are bytes 71, 72.
    expectDecodeError(smallBytes(true, (b) => (b[72] = 0)), SMALL, 'index-order', /tensor 0 block 4 \(grid row 1, col 1\) entry 1: index 0 repeats/);
    expectDecodeError(smallBytes(true, (b) => ((b[71] = 3), (b[72] = 1))), SMALL, 'index-order', /block 4 .* entry 1: index 1 < previous 3/);
  });

  it('non-finite values (f32 mode)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectDecodeError(smallBytes(false, (_, v) => v.setFloat32(75 + 4 * 7, bad, true)), SMALL, 'non-finite', /tensor 0 block 3 .* entry 1: value/);
    }
  });

  it('padding: sign bits past the last entry must be zero', () => {
    expectDecodeError(smallBytes(true, (b) => (b[76] |= 0x10)), SMALL, 'padding', /tensor 0: the 4 padding bits after 12 signs/);
    expectDecodeError(smallBytes(true, (b) => (b[95] |= 0x80)), SMALL, 'padding', /tensor 1/);
    // Bit 3 of byte 76 is entry 11, a real sign: flipping it is a valid, different update.
    expect(decodeUpdate(smallBytes(true, (b) => (b[76] ^= 0x08)), SMALL).tensors[0].values[11]).toBe(-smallUpdate(true).tensors[0].values[11]);
  });

  it('trailing-bytes', () => {
    const full = smallBytes(true);
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expectDecodeError(longer, SMALL, 'trailing-bytes', /1 bytes after the last tensor \(offset 96\)/);
  });

  it('rejects a bad expect as a caller bug (RangeError), not as a payload error', () => {
    expect(() => decodeUpdate(smallBytes(true), { ...SMALL, chunk: 0 })).toThrow(RangeError);
    expect(() => decodeUpdate(smallBytes(true), { ...SMALL, shapes: [[4, 6, 1], [5]] })).toThrow(RangeError);
  });
});

describe('update codec: encoder validation', () => {
  const t0 = (u: ClientUpdate) => u.tensors[0];

  it('rejects header fields that would not decode', () => {
    expectEncodeError({ ...smallUpdate(true), version: 2 }, true, 'bad-version');
    expectEncodeError({ ...smallUpdate(true), runId: new Uint8Array(15) }, true, 'run-id');
    expectEncodeError({ ...smallUpdate(true), step: 2 ** 32 }, true, 'step');
    expectEncodeError({ ...smallUpdate(true), step: 1.5 }, true, 'step');
    expectEncodeError({ ...smallUpdate(true), batchCount: 0 }, true, 'batch-range');
    expectEncodeError({ ...smallUpdate(true), batchStart: 2 ** 53 }, true, 'batch-range');
  });

  it('rejects malformed tensors', () => {
    const cases: [(u: ClientUpdate) => void, UpdateErrorCode, RegExp?][] = [
      [(u) => (t0(u).shape = [4, 6, 1]), 'rank'],
      [(u) => (t0(u).shape = [4, 0]), 'shape'],
      [(u) => (t0(u).block = [2, 4]), 'block-shape', /block 4 does not divide 6/],
      [(u) => (t0(u).k = 5), 'k'],
      [(u) => (t0(u).indices = t0(u).indices.slice(1)), 'length', /indices/],
      [(u) => (t0(u).values = new Float32Array(13)), 'length', /values/],
      [(u) => (t0(u).indices[5] = 9), 'index-range', /tensor 0 block 2 .* entry 1: index 9/],
      [(u) => (t0(u).indices[5] = 1), 'index-order', /tensor 0 block 2 .* entry 1: index 1 repeats/],
      [(u) => (t0(u).values[3] = 0.5), 'not-sign', /tensor 0 block 1 .* entry 1: 1-bit value 0.5 is not ±1/],
      [(u) => (t0(u).values[3] = -0), 'not-sign'],
    ];
    for (const [edit, code, message] of cases) {
      const u = smallUpdate(true);
      edit(u);
      expectEncodeError(u, true, code, message);
    }
    const u = smallUpdate(false);
    u.tensors[1].values[4] = NaN;
    expectEncodeError(u, false, 'non-finite', /tensor 1 block 4 entry 0/);
  });
});

type Mutation = (src: Uint8Array, rand: () => number) => Uint8Array;

const randInt = (rand: () => number, n: number) => Math.floor(rand() * n);

/** Biased toward the header and tensor heads, where one byte changes a length or a mode. */
const randPos = (rand: () => number, len: number) => (rand() < 0.5 ? randInt(rand, Math.min(len, 100)) : randInt(rand, len));

const MUTATIONS: Mutation[] = [
  (src, rand) => {
    const out = src.slice();
    const flips = 1 + randInt(rand, 3);
    for (let i = 0; i < flips; i++) out[randPos(rand, out.length)] ^= 1 << randInt(rand, 8);
    return out;
  },
  (src, rand) => {
    const out = src.slice();
    out[randPos(rand, out.length)] = rand() < 0.3 ? 0xff : randInt(rand, 256);
    return out;
  },
  (src, rand) => src.slice(0, randInt(rand, src.length)),
  (src, rand) => {
    const at = randPos(rand, src.length + 1);
    const extra = Uint8Array.from({ length: 1 + randInt(rand, 8) }, () => randInt(rand, 256));
    const out = new Uint8Array(src.length + extra.length);
    out.set(src.subarray(0, at));
    out.set(extra, at);
    out.set(src.subarray(at), at + extra.length);
    return out;
  },
  (src, rand) => {
    const out = new Uint8Array(src.length + 1 + randInt(rand, 4));
    out.set(src);
    return out;
  },
  (src, rand) => {
    const at = randPos(rand, src.length);
    const n = 1 + randInt(rand, 6);
    return Uint8Array.from([...src.subarray(0, at), ...src.subarray(at + n)]);
  },
];

describe('update codec: fuzz', () => {
  it('every mutated payload re-encodes identically or throws UpdateDecodeError', () => {
    const bases: [Uint8Array, ExpectedUpdate][] = [
      [smallBytes(true), SMALL],
      [smallBytes(false), SMALL],
      ...[true, false].map((oneBit, i): [Uint8Array, ExpectedUpdate] => {
        const exp: ExpectedUpdate = { shapes: [[37, 52], [16, 24], [97]], chunk: 8, topk: 3 };
        return [encodeUpdate(randomUpdate(exp.shapes, exp.chunk, exp.topk, oneBit, 100 + i), oneBit), exp];
      }),
    ];
    const rand = mulberry32(0xdeadbeef);
    const codes = new Map<string, number>();
    let accepted = 0;
    const iterations = 6000;
    for (let i = 0; i < iterations; i++) {
      const [base, exp] = bases[i % bases.length];
      const mutated = MUTATIONS[randInt(rand, MUTATIONS.length)](base, rand);
      let decoded;
      try {
        decoded = decodeUpdate(mutated, exp);
      } catch (e) {
        if (!(e instanceof UpdateDecodeError)) throw new Error(`iteration ${i}: ${String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        continue;
      }
      accepted++;
      const again = encodeUpdate(decoded, decoded.quantize1bit);
      if (hex(again) !== hex(mutated)) throw new Error(`iteration ${i}: accepted payload re-encodes differently`);
    }
    // The fuzzer must actually reach deep checks, not only bounce off the magic.
    expect(accepted).toBeGreaterThan(100);
    for (const code of ['bad-magic', 'bad-version', 'batch-range', 'tensor-count', 'rank', 'truncated', 'shape', 'block-shape', 'k', 'index-width', 'flags', 'index-range', 'index-order', 'non-finite', 'padding', 'trailing-bytes']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});
