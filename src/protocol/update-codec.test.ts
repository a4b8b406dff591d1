import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import { randomUpdate, testRunId } from './test-helpers';
import {
  decodeUpdate,
  encodedUpdateBytes,
  proofUnits,
  encodeUpdate,
  MAX_PROOF_UNITS,
  shapeDigest,
  unitSizeFor,
  unitSizeOf,
  UPDATE_FORMAT_VERSION,
  UPDATE_HEADER_BYTES,
  UpdateDecodeError,
  UpdateEncodeError,
  type ClientUpdate,
  type ExpectedUpdate,
  type UpdateErrorCode,
  type UpdateMode,
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

function expectEncodeError(update: ClientUpdate, mode: UpdateMode, code: UpdateErrorCode, message?: RegExp): void {
  let caught: unknown;
  try {
    encodeUpdate(update, mode);
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
  expect([actual.step, actual.batchStart, actual.batchCount, unitSizeOf(actual)]).toEqual([wanted.step, wanted.batchStart, wanted.batchCount, unitSizeOf(wanted)]);
  expect(actual.tensors.length).toBe(wanted.tensors.length);
  actual.tensors.forEach((t, i) => {
    const w = wanted.tensors[i];
    expect([t.shape, t.block, t.k]).toEqual([w.shape, w.block, w.k]);
    expect(Array.from(t.indices)).toEqual(Array.from(w.indices));
    // Compare bits, so -0 vs +0 or any rounding would show.
    expect(hex(new Uint8Array(t.values.buffer))).toBe(hex(new Uint8Array(w.values.buffer)));
  });
  expect(hex(new Uint8Array(actual.proof.buffer))).toBe(hex(new Uint8Array(wanted.proof.buffer)));
}

const modeOf = (e: ExpectedUpdate, quantize1bit: boolean): UpdateMode => ({ chunk: e.chunk, topk: e.topk, quantize1bit });

describe('update codec: round trip', () => {
  const awkward: ExpectedUpdate = { shapes: [[37, 52], [128, 96], [97], [300, 300]], chunk: 64, topk: 8 };

  it('derives the documented block shapes and k for awkward shapes', () => {
    const u = randomUpdate(awkward.shapes, awkward.chunk, awkward.topk, true, 1);
    expect(u.tensors.map((t) => [t.block, t.k])).toEqual([
      [[37, 52], 8], // both dims ≤ chunk: one whole-tensor block of 1924 elements (11-bit indices)
      [[64, 48], 8],
      [[1], 1], // 97 is prime: 1-element blocks keep their one coefficient (0-bit indices)
      [[60, 60], 8],
    ]);
  });

  for (const oneBit of [true, false]) {
    it(`round-trips bit-exactly (${oneBit ? '1-bit' : 'f32'} values)`, () => {
      const u = randomUpdate(awkward.shapes, awkward.chunk, awkward.topk, oneBit, 2);
      const bytes = encodeUpdate(u, modeOf(awkward, oneBit));
      // 51-byte header; one bit stream of indices (11, 12, 0, 12 bits) and, 1-bit, signs; f32 values after it;
      // then 4 sequences × 4 proof rows of f32.
      const n = [1 * 8, 4 * 8, 97, 25 * 8];
      const indexBits = 11 * n[0] + 12 * n[1] + 0 * n[2] + 12 * n[3];
      const entries = n.reduce((a, m) => a + m, 0);
      const body = oneBit ? Math.ceil((indexBits + entries) / 8) : Math.ceil(indexBits / 8) + 4 * entries;
      expect(UPDATE_HEADER_BYTES).toBe(51);
      expect(bytes.length).toBe(51 + body + 64);
      expect(encodedUpdateBytes(awkward.shapes, modeOf(awkward, oneBit), 4)).toBe(bytes.length);
      const back = decodeUpdate(bytes, { ...awkward, quantize1bit: oneBit });
      expect([back.quantize1bit, back.chunk, back.topk]).toEqual([oneBit, 64, 8]);
      expectSameUpdate(back, u);
      expect(hex(encodeUpdate(back, back))).toBe(hex(bytes));
    });
  }

  it('packs indices of blocks over 65536 elements in 17 bits', () => {
    const exp: ExpectedUpdate = { shapes: [[300, 300]], chunk: 300, topk: 8 };
    const u = randomUpdate(exp.shapes, exp.chunk, exp.topk, false, 3);
    u.tensors[0].indices[7] = 89_999; // the largest valid flat index
    u.tensors[0].indices.sort();
    const bytes = encodeUpdate(u, modeOf(exp, false));
    expect(bytes.length).toBe(51 + Math.ceil((8 * 17) / 8) + 8 * 4 + 64);
    expectSameUpdate(decodeUpdate(bytes, exp), u);
  });

  it('preserves f32 bit patterns: -0, subnormals, extremes', () => {
    const exp: ExpectedUpdate = { shapes: [[8]], chunk: 8, topk: 8 };
    const u = randomUpdate(exp.shapes, exp.chunk, exp.topk, false, 4);
    u.tensors[0].values.set([-0, 0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1]);
    expectSameUpdate(decodeUpdate(encodeUpdate(u, modeOf(exp, false)), exp), u);
  });

  it('matches a hand-written golden payload byte for byte', () => {
    const update: ClientUpdate = {
      version: 4,
      runId: Uint8Array.from({ length: 16 }, (_, i) => i),
      step: 7,
      batchStart: 5,
      batchCount: 2,
      tensors: [{ shape: [4], block: [2], k: 1, indices: Uint32Array.of(1, 0), values: Float32Array.of(-1, 1) }],
      proof: Float32Array.of(1, -2, 0.5, 0, 0, 0, 0, -0),
    };
    // Digest: SHA-256("4") = 4b227777…. Stream: index bits 1, 0, then sign bits 1, 0 → 0b0101.
    // Units of unitSizeFor(2) = 1 sequence; then 2 units × 4 proof rows, f32 little-endian: 1 = 3f800000, −2 = c0000000, 0.5 = 3f000000, −0 = 80000000.
    const golden =
      '54535255' + '0400' + '000102030405060708090a0b0c0d0e0f' + '07000000' + '0500000000000000' + '02000000' + '01000000' +
      '4b227777' + '0200' + '0100' + '01' + '05' +
      '0000803f' + '000000c0' + '0000003f' + '00000000' + '00000000' + '00000000' + '00000000' + '00000080';
    const bytes = encodeUpdate(update, { chunk: 2, topk: 1, quantize1bit: true });
    expect(hex(bytes)).toBe(golden);
    expectSameUpdate(decodeUpdate(bytes, { shapes: [[4]], chunk: 2, topk: 1 }), update);
  });

  it('accepts a run with no tensors', () => {
    const u = randomUpdate([], 64, 8, true, 5);
    const mode = { chunk: 64, topk: 8, quantize1bit: true };
    const bytes = encodeUpdate(u, mode);
    expect(bytes.length).toBe(51 + 64);
    expect(hex(encodeUpdate(decodeUpdate(bytes, { shapes: [], ...mode }), mode))).toBe(hex(bytes));
  });
});

/*
 * A small payload whose every bit is known, for hand-made corruptions.
 * shapes [[4,6],[6],[5]], chunk 3, top-k 2:
 *   tensor 0: block [2,3] (6 elements, 3-bit indices), 2×2 grid, k 2 → 8 entries, stream bits 0–23
 *   tensor 1: block [3] (2-bit indices), 2 blocks, k 2 → 4 entries, stream bits 24–31
 *   tensor 2: block [1] (5 is prime, 0-bit indices), 5 blocks, k 1 → 5 entries, no index bits
 * The stream starts at byte 51. 1-bit: signs at stream bits 32–48, 7 padding bits,
 * proofs from byte 58, 106 bytes in all. f32: stream bytes 51–54, 17 values from
 * byte 55, proofs from byte 123, 171 bytes. 3 sequences in units of 1: 12 proof values.
 * Header fields: batch count at 34, unit size 38, digest 42, chunk 46,
 * top-k 48, flags 50.
 */
const SMALL: ExpectedUpdate = { shapes: [[4, 6], [6], [5]], chunk: 3, topk: 2 };
const STREAM = 51 * 8;

function smallUpdate(oneBit: boolean): ClientUpdate {
  const sign = (n: number, period: number) => Float32Array.from({ length: n }, (_, i) => (i % period === 0 ? -1 : 1));
  return {
    version: UPDATE_FORMAT_VERSION,
    runId: testRunId(9),
    step: 42,
    batchStart: 2 ** 40 + 3,
    batchCount: 3,
    proof: Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1),
    tensors: [
      {
        shape: [4, 6],
        block: [2, 3],
        k: 2,
        indices: Uint32Array.of(0, 5, 1, 2, 3, 4, 0, 1),
        values: oneBit ? sign(8, 3) : Float32Array.from({ length: 8 }, (_, i) => i - 3.5),
      },
      { shape: [6], block: [3], k: 2, indices: Uint32Array.of(0, 2, 1, 2), values: oneBit ? sign(4, 2) : Float32Array.of(0.5, -0, 2, 3) },
      { shape: [5], block: [1], k: 1, indices: new Uint32Array(5), values: Float32Array.of(1, -1, -1, 1, 1) },
    ],
  };
}

function smallBytes(oneBit: boolean, edit?: (b: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = encodeUpdate(smallUpdate(oneBit), modeOf(SMALL, oneBit));
  edit?.(bytes, new DataView(bytes.buffer));
  return bytes;
}

/** Overwrites a `width`-bit LSB-first field at absolute bit `at`. */
function setBits(bytes: Uint8Array, at: number, width: number, value: number): void {
  for (let i = 0; i < width; i++) {
    const bit = at + i;
    bytes[bit >> 3] = (bytes[bit >> 3] & ~(1 << (bit & 7))) | (((value >>> i) & 1) << (bit & 7));
  }
}

describe('update codec: strict decoder', () => {
  it('has the layout the corruption tests assume', () => {
    expect(smallBytes(true).length).toBe(106);
    expect(smallBytes(false).length).toBe(171);
    const d = decodeUpdate(smallBytes(true), SMALL);
    expect(Array.from(d.tensors[1].values)).toEqual([-1, 1, -1, 1]);
    expect(Array.from(d.tensors[2].indices)).toEqual([0, 0, 0, 0, 0]);
  });

  it('bad-magic, bad-version (version-1 and version-3 payloads included)', () => {
    expectDecodeError(smallBytes(true, (b) => (b[0] = 0x58)), SMALL, 'bad-magic');
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(4, 1, true)), SMALL, 'bad-version', /version 1; this decoder reads 4/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(4, 3, true)), SMALL, 'bad-version', /version 3; this decoder reads 4/);
  });

  it('truncated anywhere, and before allocating for a hostile but honest-looking header', () => {
    const full = smallBytes(true);
    for (const len of [0, 3, 5, 21, 37, 41, 45, 46, 49, 50, 51, 54, 57, 58, 105]) expectDecodeError(full.subarray(0, len), SMALL, 'truncated');
    expectDecodeError(full.subarray(0, 54), SMALL, 'truncated', /the body of 17 entries and 3 proofs needs 55 bytes at offset 51, only 3 remain/);
    // The run's shapes are huge and the payload stops after the header: refused before any array is made.
    const big: ExpectedUpdate = { shapes: [[65536, 65536]], chunk: 64, topk: 8 };
    const header = encodeUpdate(randomUpdate([], 64, 8, true, 1), { chunk: 64, topk: 8, quantize1bit: true }).slice(0, 51);
    const v = new DataView(header.buffer);
    header.set(shapeDigest(big.shapes), 42);
    expectDecodeError(header, big, 'truncated', /the body of 8388608 entries and 4 proofs needs 13631552 bytes/);
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

  it('unit-size: at least 1, and at most MAX_PROOF_UNITS units of the batch count', () => {
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(38, 0, true)), SMALL, 'unit-size', /unit size 0/);
    // Nine sequences in units of 1 would be nine proofs.
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(34, 9, true)), SMALL, 'unit-size', /units of 1 make 9 proofs of 9 sequences; at most 8/);
    // A larger unit size is one proof: the body is then short of the 3 the payload carries.
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(38, 0xffff_ffff, true)), SMALL, 'trailing-bytes', /32 bytes after the body/);
  });

  it('unit size: a time-boxed update keeps its cap’s units, the last one cut at the count', () => {
    const mode = modeOf(SMALL, true);
    // Assigned 10 (units of 2), trained 5: units [0, 2), [2, 4), [4, 5).
    const timeBoxed: ClientUpdate = { ...smallUpdate(true), batchCount: 5, unitSize: unitSizeFor(10) };
    const bytes = encodeUpdate(timeBoxed, mode);
    expect(new DataView(bytes.buffer).getUint32(38, true)).toBe(2);
    expect(bytes.length).toBe(encodedUpdateBytes(SMALL.shapes, mode, 5, 2));
    const back = decodeUpdate(bytes, SMALL);
    expect([back.batchCount, back.unitSize, back.proof.length]).toEqual([5, 2, 12]);
    expectSameUpdate(back, timeBoxed);
    expect(hex(encodeUpdate(back, back))).toBe(hex(bytes));
    // A unit size larger than the count: one unit of all of it.
    const one: ClientUpdate = { ...smallUpdate(true), unitSize: 5, proof: Float32Array.of(1, 2, 3, 4) };
    const oneBytes = encodeUpdate(one, mode);
    expect(oneBytes.length).toBe(58 + 16);
    const oneBack = decodeUpdate(oneBytes, SMALL);
    expect([oneBack.batchCount, oneBack.unitSize, proofUnits(oneBack.batchCount, oneBack.unitSize)]).toEqual([3, 5, 1]);
    expectSameUpdate(oneBack, one);
    // Exactly MAX_PROOF_UNITS units.
    const full: ClientUpdate = { ...smallUpdate(true), batchCount: 16, unitSize: 2, proof: new Float32Array(MAX_PROOF_UNITS * 4) };
    expect(decodeUpdate(encodeUpdate(full, mode), SMALL).proof.length).toBe(32);
    // Left out, the unit size is the one of an update of its whole assignment.
    expect(decodeUpdate(smallBytes(true), SMALL).unitSize).toBe(1);
    expect(unitSizeOf({ batchCount: 1000 })).toBe(125);
  });

  it('another tensor count is another shape digest (the header names the shapes, count included, only by digest)', () => {
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[4, 6], [6]] }, 'shape', /another model/);
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[4, 6], [6], [5], [5]] }, 'shape', /another model/);
  });

  it('shape digest, chunk and top-k against the run', () => {
    expectDecodeError(smallBytes(true, (b) => (b[43] ^= 1)), SMALL, 'shape', /another model/);
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[4, 6], [6], [7]] }, 'shape');
    expectDecodeError(smallBytes(true), { ...SMALL, shapes: [[6, 4], [6], [5]] }, 'shape');
    expectDecodeError(smallBytes(true), { ...SMALL, chunk: 2 }, 'chunk', /chunk 3; the run's is 2/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(46, 64, true)), SMALL, 'chunk');
    expectDecodeError(smallBytes(true), { ...SMALL, topk: 3 }, 'k', /top-k 2; the run's is 3/);
    expectDecodeError(smallBytes(true, (_, v) => v.setUint16(48, 8, true)), SMALL, 'k');
  });

  it('flags: reserved bits, a mode other than the run’s', () => {
    expectDecodeError(smallBytes(true, (b) => (b[50] = 0x03)), SMALL, 'flags', /reserved flag bits/);
    expectDecodeError(smallBytes(true, (b) => (b[50] = 0x81)), SMALL, 'flags', /reserved/);
    expectDecodeError(smallBytes(true), { ...SMALL, quantize1bit: false }, 'flags', /1-bit values, but the run's updates are unquantized/);
    expectDecodeError(smallBytes(false), { ...SMALL, quantize1bit: true }, 'flags');
    // Flipping the mode changes the body's length, so without an expected mode it is a length error.
    expectDecodeError(smallBytes(true, (b) => (b[50] = 0)), SMALL, 'truncated');
  });

  it('index-range and index-order name the tensor, block and entry', () => {
    // Tensor 0 entry 1 (block 0) is stream bits 3–5; 6 is out of a 6-element block.
    expectDecodeError(smallBytes(true, (b) => setBits(b, STREAM + 3, 3, 6)), SMALL, 'index-range', /tensor 0 block 0 \(grid row 0, col 0\) entry 1: index 6 ≥ block elements 6/);
    // Tensor 1 entry 2 (block 1 entry 0) is stream bits 28–29.
    expectDecodeError(smallBytes(true, (b) => setBits(b, STREAM + 28, 2, 3)), SMALL, 'index-range', /tensor 1 block 1 entry 0: index 3 ≥ block elements 3/);
    // Block 3 is (grid row 1, col 1); its entries are stream bits 18–20 and 21–23.
    expectDecodeError(smallBytes(true, (b) => setBits(b, STREAM + 21, 3, 0)), SMALL, 'index-order', /tensor 0 block 3 \(grid row 1, col 1\) entry 1: index 0 repeats/);
    expectDecodeError(
      smallBytes(true, (b) => (setBits(b, STREAM + 18, 3, 3), setBits(b, STREAM + 21, 3, 1))),
      SMALL,
      'index-order',
      /block 3 .* entry 1: index 1 < previous 3/,
    );
  });

  it('non-finite values (f32 mode)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectDecodeError(smallBytes(false, (_, v) => v.setFloat32(55 + 4 * 7, bad, true)), SMALL, 'non-finite', /tensor 0 block 3 .* entry 1: value/);
    }
  });

  it('padding: bits past the end of the stream must be zero', () => {
    expectDecodeError(smallBytes(true, (b) => (b[57] |= 0x80)), SMALL, 'padding', /the 7 padding bits after the bit stream's 49 bits/);
    // Stream bit 48 is tensor 2's last sign: flipping it is a valid, different update.
    const flipped = decodeUpdate(smallBytes(true, (b) => (b[57] ^= 0x01)), SMALL);
    expect(flipped.tensors[2].values[4]).toBe(-smallUpdate(true).tensors[2].values[4]);
  });

  it('trailing-bytes', () => {
    const full = smallBytes(true);
    const longer = new Uint8Array(full.length + 1);
    longer.set(full);
    expectDecodeError(longer, SMALL, 'trailing-bytes', /1 bytes after the body \(offset 106\)/);
  });

  it('proof: every value finite, sequence and row named', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expectDecodeError(smallBytes(true, (_, v) => v.setFloat32(58 + 4 * 6, bad, true)), SMALL, 'proof', /unit 1 row 2: .* is not finite/);
      expectDecodeError(smallBytes(false, (_, v) => v.setFloat32(123 + 4 * 11, bad, true)), SMALL, 'proof', /unit 2 row 3/);
    }
    // Beyond MAX_PROOF_UNITS sequences, sequences share proofs in units of ⌈count / 8⌉: 5 proofs of 2 for 9 sequences, 8 of 125 for 1000.
    expect([1, 7, 8, 9, 17, 1000].map((c) => unitSizeFor(c))).toEqual([1, 1, 1, 2, 3, 125]);
    expect([1, 7, 8, 9, 17, 1000].map((c) => proofUnits(c))).toEqual([1, 7, 8, 5, 6, 8]);
    const many = { ...smallUpdate(true), batchCount: 1000, proof: Float32Array.from({ length: 32 }, (_, i) => i) };
    const back = decodeUpdate(encodeUpdate(many, modeOf(SMALL, true)), SMALL);
    expect([back.batchCount, back.proof.length]).toEqual([1000, 32]);
    expect(encodeUpdate(many, modeOf(SMALL, true)).length).toBe(58 + 128);
    // The batch count sizes the proofs: one sequence more and the payload is short by 16 bytes.
    expectDecodeError(smallBytes(true, (_, v) => v.setUint32(34, 4, true)), SMALL, 'truncated', /17 entries and 4 proofs needs 71 bytes at offset 51, only 55 remain/);
  });

  it('rejects a bad expect as a caller bug (RangeError), not as a payload error', () => {
    expect(() => decodeUpdate(smallBytes(true), { ...SMALL, chunk: 0 })).toThrow(RangeError);
    expect(() => decodeUpdate(smallBytes(true), { ...SMALL, shapes: [[4, 6, 1], [6], [5]] })).toThrow(RangeError);
  });
});

describe('update codec: encoder validation', () => {
  const t0 = (u: ClientUpdate) => u.tensors[0];
  const ONE_BIT = modeOf(SMALL, true);

  it('rejects header fields that would not decode', () => {
    expectEncodeError({ ...smallUpdate(true), version: 1 }, ONE_BIT, 'bad-version');
    expectEncodeError({ ...smallUpdate(true), runId: new Uint8Array(15) }, ONE_BIT, 'run-id');
    expectEncodeError({ ...smallUpdate(true), step: 2 ** 32 }, ONE_BIT, 'step');
    expectEncodeError({ ...smallUpdate(true), step: 1.5 }, ONE_BIT, 'step');
    expectEncodeError({ ...smallUpdate(true), batchCount: 0 }, ONE_BIT, 'batch-range');
    expectEncodeError({ ...smallUpdate(true), batchStart: 2 ** 53 }, ONE_BIT, 'batch-range');
    expectEncodeError({ ...smallUpdate(true), batchCount: 2 }, ONE_BIT, 'proof', /12 proof values; 2 sequences in units of 1 need 8/);
    expectEncodeError({ ...smallUpdate(true), unitSize: 3 }, ONE_BIT, 'proof', /12 proof values; 3 sequences in units of 3 need 4/);
    for (const unitSize of [0, -1, 1.5, 2 ** 32]) expectEncodeError({ ...smallUpdate(true), unitSize }, ONE_BIT, 'unit-size', /is not an integer/);
    expectEncodeError({ ...smallUpdate(true), batchCount: 9, unitSize: 1, proof: new Float32Array(36) }, ONE_BIT, 'unit-size', /9 proofs of 9 sequences; at most 8/);
    expectEncodeError({ ...smallUpdate(true), batchCount: 17, unitSize: 2, proof: new Float32Array(36) }, ONE_BIT, 'unit-size', /units of 2 make 9 proofs/);
    expectEncodeError({ ...smallUpdate(true), proof: Float32Array.of(...new Array(11).fill(0), NaN) }, ONE_BIT, 'proof', /unit 2 row 3: NaN/);
    expectEncodeError(smallUpdate(true), { ...ONE_BIT, chunk: 0 }, 'chunk');
    expectEncodeError(smallUpdate(true), { ...ONE_BIT, topk: 70_000 }, 'k');
  });

  it('rejects tensors that do not follow the run’s block rule and top-k', () => {
    const cases: [(u: ClientUpdate) => void, UpdateErrorCode, RegExp?][] = [
      [(u) => (t0(u).shape = [4, 6, 1]), 'rank'],
      [(u) => (t0(u).shape = [4, 0]), 'shape'],
      [(u) => (t0(u).block = [2, 2]), 'block-shape', /tensor 0: block \[2,2\]; chunk 3 gives \[2,3\]/],
      [(u) => (t0(u).k = 3), 'k', /tensor 0: k 3; top-k 2 gives 2/],
      [(u) => (t0(u).indices = t0(u).indices.slice(1)), 'length', /indices/],
      [(u) => (t0(u).values = new Float32Array(9)), 'length', /values/],
      [(u) => (t0(u).indices[3] = 9), 'index-range', /tensor 0 block 1 .* entry 1: index 9/],
      [(u) => (t0(u).indices[3] = 1), 'index-order', /tensor 0 block 1 .* entry 1: index 1 repeats/],
      [(u) => (t0(u).values[3] = 0.5), 'not-sign', /tensor 0 block 1 .* entry 1: 1-bit value 0.5 is not ±1/],
      [(u) => (t0(u).values[3] = -0), 'not-sign'],
    ];
    for (const [edit, code, message] of cases) {
      const u = smallUpdate(true);
      edit(u);
      expectEncodeError(u, ONE_BIT, code, message);
    }
    const u = smallUpdate(false);
    u.tensors[2].values[4] = NaN;
    expectEncodeError(u, modeOf(SMALL, false), 'non-finite', /tensor 2 block 4 entry 0/);
  });
});

type Mutation = (src: Uint8Array, rand: () => number) => Uint8Array;

const randInt = (rand: () => number, n: number) => Math.floor(rand() * n);

/** Biased toward the header, where one byte changes a length or a mode. */
const randPos = (rand: () => number, len: number) => (rand() < 0.5 ? randInt(rand, Math.min(len, 60)) : randInt(rand, len));

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
        return [encodeUpdate(randomUpdate(exp.shapes, exp.chunk, exp.topk, oneBit, 100 + i), modeOf(exp, oneBit)), exp];
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
      const again = encodeUpdate(decoded, decoded);
      if (hex(again) !== hex(mutated)) throw new Error(`iteration ${i}: accepted payload re-encodes differently`);
    }
    // The fuzzer must actually reach deep checks, not only bounce off the magic.
    expect(accepted).toBeGreaterThan(100);
    for (const code of ['bad-magic', 'bad-version', 'batch-range', 'unit-size', 'truncated', 'shape', 'chunk', 'k', 'flags', 'index-range', 'index-order', 'non-finite', 'padding', 'trailing-bytes']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });
});
