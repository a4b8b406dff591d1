/**
 * Wire format of one client's DeMo update for one step (docs/design.md §4, last
 * paragraph), format version 4. All integers are little-endian and unsigned;
 * fields follow each other with no alignment padding.
 *
 * Header (51 bytes)
 *   off  size  field
 *     0     4  magic: ASCII "TSRU" (54 53 52 55)
 *     4     2  format version, u16 = 4
 *     6    16  run id: 16 opaque bytes fixed by the coordinator when the run is
 *              created (the raw bytes of a random RFC 9562 UUIDv4). It
 *              names the run, so an update for another run (even one with the
 *              same model shapes) can never be mistaken for this one.
 *    22     4  step, u32. 2^32 steps outlast any run (136 years at one step a
 *              second), and a u32 is an exact JS number.
 *    26     8  batch start, u64: the index of the first sequence this client
 *              trained on. u64 because indices count across all clients and
 *              the whole run. start + count must be ≤ 2^53 − 1.
 *    34     4  batch count, u32, ≥ 1: the sequences trained, from batch start on.
 *    38     4  unit size, u32, ≥ 1: the sequences one proof covers (the last
 *              unit may hold fewer); ⌈batch count / unit size⌉ ≤ MAX_PROOF_UNITS.
 *    42     4  shape digest: the first 4 bytes of SHA-256 over the ASCII text
 *              of the run's tensor shapes ("256x32,32,24x32,…", outermost dim
 *              first), so a client of another model is told so by name. It
 *              names the tensor count too: version 4 dropped the count field
 *              that versions 2 and 3 had here, so the header stays 51 bytes
 *              with the unit size (tinyDemo's whole update is 640 bytes, and
 *              4 more would leave it under 1000× smaller than its gradient).
 *    46     2  chunk s, u16, the run's (docs/design.md §4 step 3).
 *    48     2  top-k, u16, the run's.
 *    50     1  flags, u8: bit 0 = values are 1-bit signs; bits 1–7 reserved, 0.
 *    51        body
 *
 * Everything a version-1 payload repeated per tensor (rank, shape, block
 * shape, k, index width: 21 bytes a 2-D tensor) follows from the run's shapes,
 * chunk and top-k, which every peer already has, so version 2 sends it once,
 * as the digest and the two numbers above. On a small model those headers
 * were larger than the update itself.
 *
 * Body: one LSB-first bit stream (bit i is bit i mod 8 of byte ⌊i/8⌋; a
 * w-bit field stores its value from least to most significant bit):
 *   1. indices: tensor by tensor in the run's order, block by block in
 *      row-major order of the block grid, k entries a block, each a flat index
 *      (u·cc + v) in w = ⌈log₂(block elements)⌉ bits, strictly increasing
 *      within the block, each < block elements. Sorting makes the encoding
 *      canonical: one update has exactly one byte string, so its commitment
 *      is well defined. k = min(top-k, block elements).
 *   2. 1-bit mode: one sign bit per entry in the same order, 1 = negative
 *      (−1), 0 = +1.
 *   The stream ends with zero bits up to a byte boundary (canonical again).
 *   3. unquantized mode only: after the stream, one f32 per entry in the same
 *      order, finite (±0 allowed, bits preserved).
 *   4. the proofs: proofUnits(batch count, unit size) × PROOF_ROWS f32,
 *      finite, unit by unit of the batch range (consecutive groups of unit
 *      size sequences, the last one cut at the batch count): each unit's
 *      gradient sketch (src/verify/sequence-proof.ts), which a verifier
 *      recomputes for one unit it draws after the commit. Version 3 added
 *      them; version 4 the unit size, so that a tab training until a time box
 *      ends (docs/design.md §11) lays out its units before it knows how many
 *      sequences it will reach: the size follows from the range the round
 *      assigned (unitSizeFor), and the count only cuts the last unit short.
 * The body's length is thus fixed by the run, the mode, the batch count and
 * the unit size: a payload of any other length is rejected before a single
 * field of the body is read.
 *
 * The decoder takes the expected shapes, chunk and top-k from the caller (the
 * run's config), never from the payload, and checks every header field
 * against them.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { BitReader, BitWriter, bytesForBits } from './bits';
import { ByteReader, ByteWriter } from './bytes';
import { blockCount, blockShape, elementCount, indexBits, keptPerBlock } from '../demo/blocks';

export const UPDATE_MAGIC = 'TSRU';
export const UPDATE_FORMAT_VERSION = 4;
/** Sketch rows a proof has (src/kernels/sketch/grad-sketch.ts SKETCH_ROWS). */
export const PROOF_ROWS = 4;
/**
 * At most this many proofs an update: beyond it, consecutive sequences share
 * one, so proofs stay a few bytes however many sequences a tab trains, and a
 * verifier recomputes a fixed share of the author's work.
 */
export const MAX_PROOF_UNITS = 8;

/**
 * The unit size of an update trained on a range of `assigned` sequences: the
 * fewest sequences a unit that keeps the units to MAX_PROOF_UNITS. The
 * coordinator holds every update to the size of its assignment, so an author
 * cannot choose larger units (fewer, costlier checks for its verifiers).
 */
export function unitSizeFor(assigned: number): number {
  return Math.max(1, Math.ceil(assigned / MAX_PROOF_UNITS));
}

/** The proofs an update of `batchCount` sequences in units of `unitSize` carries. */
export function proofUnits(batchCount: number, unitSize = unitSizeFor(batchCount)): number {
  return Math.ceil(batchCount / unitSize);
}
export const RUN_ID_BYTES = 16;
export const UPDATE_HEADER_BYTES = 51;

const MAGIC_BYTES = new TextEncoder().encode(UPDATE_MAGIC);
const FLAG_ONE_BIT = 0x01;
const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;
// A u64 whose high half is above this is ≥ 2^53 and cannot be an exact Number.
const SAFE_U64_HIGH_MAX = 0x1f_ffff;

export interface UpdateTensor {
  shape: number[];
  block: number[];
  /** Coefficients kept per block. */
  k: number;
  /** blocks·k flat indices within their block, strictly increasing per block. */
  indices: Uint32Array;
  /** Aligned with `indices`; ±1 in 1-bit mode. */
  values: Float32Array;
}

export interface ClientUpdate {
  version: number;
  runId: Uint8Array;
  step: number;
  batchStart: number;
  batchCount: number;
  /** Sequences a proof covers; unitSizeFor(batchCount) when left out (an update that trained its whole assignment). */
  unitSize?: number;
  tensors: UpdateTensor[];
  /** proofUnits(batchCount, unitSize) × PROOF_ROWS: unit u's gradient sketch at [u·PROOF_ROWS, (u+1)·PROOF_ROWS) (src/verify/sequence-proof.ts). */
  proof: Float32Array;
}

/** What the run's config says an update must look like. */
export interface ExpectedUpdate {
  shapes: number[][];
  chunk: number;
  topk: number;
  /** When given, the update's value mode must be this one. */
  quantize1bit?: boolean;
}

/** How an update is encoded: the run's chunk and top-k, and the value mode. */
export interface UpdateMode {
  chunk: number;
  topk: number;
  quantize1bit: boolean;
}

/** A decoded update, with the mode it was sent in (so it re-encodes bit for bit). */
export interface DecodedUpdate extends ClientUpdate, UpdateMode {
  unitSize: number;
}

/** The update's unit size, or the default for an update of its whole assignment. */
export function unitSizeOf(update: Pick<ClientUpdate, 'batchCount' | 'unitSize'>): number {
  return update.unitSize ?? unitSizeFor(update.batchCount);
}

export type UpdateErrorCode =
  | 'bad-magic'
  | 'bad-version'
  | 'run-id'
  | 'step'
  | 'batch-range'
  | 'unit-size'
  | 'truncated'
  | 'rank'
  | 'shape'
  | 'chunk'
  | 'block-shape'
  | 'k'
  | 'flags'
  | 'length'
  | 'index-range'
  | 'index-order'
  | 'non-finite'
  | 'not-sign'
  | 'padding'
  | 'proof'
  | 'trailing-bytes';

export class UpdateCodecError extends Error {
  constructor(
    readonly code: UpdateErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = new.target.name;
  }
}

/** The payload is malformed; `code` says what and the message says where. */
export class UpdateDecodeError extends UpdateCodecError {}

/** The update handed to the encoder would not decode; nothing was produced. */
export class UpdateEncodeError extends UpdateCodecError {}

type Fail = (code: UpdateErrorCode, message: string) => never;

const failDecode: Fail = (code, message) => {
  throw new UpdateDecodeError(code, message);
};

const failEncode: Fail = (code, message) => {
  throw new UpdateEncodeError(code, message);
};

// ---------------------------------------------------------------------------
// Checks shared by encoder and decoder, so both accept exactly the same set.

/** "tensor 2 block 5 (grid row 1, col 1) entry 3": enough to find the bad entry by eye. */
function entryLabel(t: number, shape: readonly number[], block: readonly number[], entry: number, k: number): string {
  const b = Math.floor(entry / k);
  const j = entry % k;
  let where = `tensor ${t} block ${b}`;
  if (shape.length === 2) {
    const gridCols = shape[1] / block[1];
    where += ` (grid row ${Math.floor(b / gridCols)}, col ${b % gridCols})`;
  }
  return `${where} entry ${j}`;
}

function checkIndices(
  t: number,
  shape: readonly number[],
  block: readonly number[],
  k: number,
  indices: Uint32Array,
  fail: Fail,
): void {
  const blockElements = elementCount(block);
  for (let i = 0; i < indices.length; i++) {
    const idx = indices[i];
    if (idx >= blockElements) {
      fail('index-range', `${entryLabel(t, shape, block, i, k)}: index ${idx} ≥ block elements ${blockElements}`);
    }
    if (i % k === 0) continue;
    const prev = indices[i - 1];
    if (idx === prev) fail('index-order', `${entryLabel(t, shape, block, i, k)}: index ${idx} repeats the previous entry`);
    if (idx < prev) fail('index-order', `${entryLabel(t, shape, block, i, k)}: index ${idx} < previous ${prev} (must increase)`);
  }
}

function checkValues(
  t: number,
  shape: readonly number[],
  block: readonly number[],
  k: number,
  values: Float32Array,
  oneBit: boolean,
  fail: Fail,
): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (oneBit && v !== 1 && v !== -1) {
      fail('not-sign', `${entryLabel(t, shape, block, i, k)}: 1-bit value ${v} is not ±1`);
    }
    if (!Number.isFinite(v)) fail('non-finite', `${entryLabel(t, shape, block, i, k)}: value ${v} is not finite`);
  }
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function checkBatchRange(start: number, count: number, fail: Fail): void {
  if (!isUint(start, Number.MAX_SAFE_INTEGER)) fail('batch-range', `batch start ${start} is not an integer in [0, 2^53)`);
  if (!isUint(count, U32_MAX) || count === 0) fail('batch-range', `batch count ${count} is not an integer in [1, 2^32)`);
  if (start + count > Number.MAX_SAFE_INTEGER) {
    fail('batch-range', `batch range end ${start} + ${count} exceeds 2^53 − 1`);
  }
}

// ---------------------------------------------------------------------------
// Layout: everything about the body that follows from the run.

interface TensorLayout {
  shape: number[];
  block: number[];
  k: number;
  /** Bits per index. */
  bits: number;
  /** blocks·k. */
  entries: number;
}

function tensorLayout(shape: number[], chunk: number, topk: number): TensorLayout {
  const block = blockShape(shape, chunk);
  const blockElements = elementCount(block);
  const k = keptPerBlock(blockElements, topk);
  return { shape, block, k, bits: indexBits(blockElements), entries: blockCount(shape, block) * k };
}

interface BodySize {
  entries: number;
  /** Bytes of the bit stream (indices, then signs in 1-bit mode), padded to a byte. */
  streamBytes: number;
  total: number;
}

function bodySize(layouts: readonly TensorLayout[], oneBit: boolean): BodySize {
  let entries = 0;
  let bits = 0;
  for (const l of layouts) {
    entries += l.entries;
    bits += l.entries * l.bits;
  }
  if (oneBit) bits += entries;
  const streamBytes = bytesForBits(bits);
  return { entries, streamBytes, total: streamBytes + (oneBit ? 0 : 4 * entries) };
}

/** First 4 bytes of SHA-256 over "RxC,N,…": names the model's shapes in the header. */
export function shapeDigest(shapes: readonly (readonly number[])[]): Uint8Array {
  return sha256(new TextEncoder().encode(shapes.map((s) => s.join('x')).join(','))).slice(0, 4);
}

/** Bytes of the proofs of an update of `batchCount` sequences in units of `unitSize`. */
export function proofBytes(batchCount: number, unitSize = unitSizeFor(batchCount)): number {
  return 4 * PROOF_ROWS * proofUnits(batchCount, unitSize);
}

/** Wire size of an update for these shapes and mode that trained `batchCount` sequences in units of `unitSize`. */
export function encodedUpdateBytes(shapes: readonly number[][], mode: UpdateMode, batchCount: number, unitSize = unitSizeFor(batchCount)): number {
  return UPDATE_HEADER_BYTES + bodySize(shapes.map((s) => tensorLayout([...s], mode.chunk, mode.topk)), mode.quantize1bit).total + proofBytes(batchCount, unitSize);
}

function checkUnitSize(batchCount: number, unitSize: number, fail: Fail): void {
  if (!isUint(unitSize, U32_MAX) || unitSize < 1) fail('unit-size', `unit size ${unitSize} is not an integer in [1, 2^32)`);
  if (proofUnits(batchCount, unitSize) > MAX_PROOF_UNITS) {
    fail('unit-size', `units of ${unitSize} make ${proofUnits(batchCount, unitSize)} proofs of ${batchCount} sequences; at most ${MAX_PROOF_UNITS}`);
  }
}

function checkProof(proof: Float32Array, batchCount: number, unitSize: number, fail: Fail): void {
  for (let i = 0; i < proof.length; i++) {
    if (!Number.isFinite(proof[i])) fail('proof', `unit ${Math.floor(i / PROOF_ROWS)} row ${i % PROOF_ROWS}: ${proof[i]} is not finite`);
  }
  const wanted = proofUnits(batchCount, unitSize) * PROOF_ROWS;
  if (proof.length !== wanted) fail('proof', `${proof.length} proof values; ${batchCount} sequences in units of ${unitSize} need ${wanted}`);
}

// ---------------------------------------------------------------------------
// Encoder

function validateMode(mode: UpdateMode, fail: Fail): void {
  if (!isUint(mode.chunk, U16_MAX) || mode.chunk < 1) fail('chunk', `chunk ${mode.chunk} is not an integer in [1, 65535]`);
  if (!isUint(mode.topk, U16_MAX) || mode.topk < 1) fail('k', `top-k ${mode.topk} is not an integer in [1, 65535]`);
}

function validateTensorForEncode(t: number, tensor: UpdateTensor, mode: UpdateMode): TensorLayout {
  const { shape, block, k, indices, values } = tensor;
  const rank = shape.length;
  if (rank !== 1 && rank !== 2) failEncode('rank', `tensor ${t}: rank ${rank} is not 1 or 2`);
  shape.forEach((d, i) => {
    if (!isUint(d, U32_MAX) || d === 0) failEncode('shape', `tensor ${t} dim ${i}: ${d} is not an integer in [1, 2^32)`);
  });
  const layout = tensorLayout([...shape], mode.chunk, mode.topk);
  if (block.length !== rank || block.some((d, i) => d !== layout.block[i])) {
    failEncode('block-shape', `tensor ${t}: block [${block}]; chunk ${mode.chunk} gives [${layout.block}]`);
  }
  if (k !== layout.k) failEncode('k', `tensor ${t}: k ${k}; top-k ${mode.topk} gives ${layout.k}`);
  if (!(indices instanceof Uint32Array) || indices.length !== layout.entries) {
    failEncode('length', `tensor ${t}: indices must be a Uint32Array of blocks·k = ${layout.entries}, got ${indices.length}`);
  }
  if (!(values instanceof Float32Array) || values.length !== layout.entries) {
    failEncode('length', `tensor ${t}: values must be a Float32Array of blocks·k = ${layout.entries}, got ${values.length}`);
  }
  checkIndices(t, shape, block, k, indices, failEncode);
  checkValues(t, shape, block, k, values, mode.quantize1bit, failEncode);
  return layout;
}

function validateForEncode(update: ClientUpdate, mode: UpdateMode): TensorLayout[] {
  if (update.version !== UPDATE_FORMAT_VERSION) {
    failEncode('bad-version', `version ${update.version}; this encoder writes ${UPDATE_FORMAT_VERSION}`);
  }
  if (!(update.runId instanceof Uint8Array) || update.runId.length !== RUN_ID_BYTES) {
    failEncode('run-id', `run id must be ${RUN_ID_BYTES} bytes, got ${update.runId?.length}`);
  }
  if (!isUint(update.step, U32_MAX)) failEncode('step', `step ${update.step} is not an integer in [0, 2^32)`);
  checkBatchRange(update.batchStart, update.batchCount, failEncode);
  checkUnitSize(update.batchCount, unitSizeOf(update), failEncode);
  validateMode(mode, failEncode);
  if (!(update.proof instanceof Float32Array)) failEncode('proof', 'proof must be a Float32Array');
  checkProof(update.proof, update.batchCount, unitSizeOf(update), failEncode);
  return update.tensors.map((tensor, t) => validateTensorForEncode(t, tensor, mode));
}

/**
 * Serialize an update. Throws `UpdateEncodeError` for anything a decoder
 * expecting these shapes and this mode would reject, so a peer never commits
 * to bytes that others will refuse.
 */
export function encodeUpdate(update: ClientUpdate, mode: UpdateMode): Uint8Array {
  const layouts = validateForEncode(update, mode);
  const oneBit = mode.quantize1bit;
  const size = bodySize(layouts, oneBit);
  const unitSize = unitSizeOf(update);
  const w = new ByteWriter(UPDATE_HEADER_BYTES + size.total + proofBytes(update.batchCount, unitSize));
  w.raw(MAGIC_BYTES);
  w.u16(UPDATE_FORMAT_VERSION);
  w.raw(update.runId);
  w.u32(update.step);
  w.u64(update.batchStart);
  w.u32(update.batchCount);
  w.u32(unitSize);
  w.raw(shapeDigest(update.tensors.map((t) => t.shape)));
  w.u16(mode.chunk);
  w.u16(mode.topk);
  w.u8(oneBit ? FLAG_ONE_BIT : 0);
  const stream = new Uint8Array(size.streamBytes);
  const bits = new BitWriter(stream);
  update.tensors.forEach((t, i) => {
    for (const idx of t.indices) bits.write(idx, layouts[i].bits);
  });
  if (oneBit) for (const t of update.tensors) for (const v of t.values) bits.write(v < 0 ? 1 : 0, 1);
  w.raw(stream);
  if (!oneBit) for (const t of update.tensors) for (const v of t.values) w.f32(v);
  for (const v of update.proof) w.f32(v);
  return w.bytes;
}

// ---------------------------------------------------------------------------
// Decoder

/** A wrong `expect` is a bug in the caller, not a bad payload: plain RangeError. */
function validateExpect(expect: ExpectedUpdate): void {
  if (!isUint(expect.chunk, U16_MAX) || expect.chunk < 1) throw new RangeError(`expect.chunk ${expect.chunk} must be in [1, 65535]`);
  if (!isUint(expect.topk, U16_MAX) || expect.topk < 1) throw new RangeError(`expect.topk ${expect.topk} must be in [1, 65535]`);
  expect.shapes.forEach((shape, t) => {
    if (shape.length !== 1 && shape.length !== 2) throw new RangeError(`expect.shapes[${t}] must have rank 1 or 2`);
    if (!shape.every((d) => isUint(d, U32_MAX) && d > 0)) throw new RangeError(`expect.shapes[${t}] has a bad dim: [${shape}]`);
  });
}

function newReader(bytes: Uint8Array): ByteReader {
  return new ByteReader(bytes, (field, needed, available, offset) =>
    failDecode('truncated', `${field} needs ${needed} bytes at offset ${offset}, only ${available} remain`),
  );
}

interface Header {
  runId: Uint8Array;
  step: number;
  batchStart: number;
  batchCount: number;
  unitSize: number;
  quantize1bit: boolean;
}

const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function readHeader(r: ByteReader, expect: ExpectedUpdate): Header {
  const magic = r.bytesCopy(4, 'magic');
  if (!magic.every((b, i) => b === MAGIC_BYTES[i])) failDecode('bad-magic', `magic bytes [${magic}] are not "${UPDATE_MAGIC}"`);
  const version = r.u16('format version');
  if (version !== UPDATE_FORMAT_VERSION) {
    failDecode('bad-version', `format version ${version}; this decoder reads ${UPDATE_FORMAT_VERSION}`);
  }
  const runId = r.bytesCopy(RUN_ID_BYTES, 'run id');
  const step = r.u32('step');
  const { lo, hi } = r.u64Parts('batch start');
  if (hi > SAFE_U64_HIGH_MAX) failDecode('batch-range', `batch start ≥ 2^53 (high word 0x${hi.toString(16)})`);
  const batchStart = hi * 0x1_0000_0000 + lo;
  const batchCount = r.u32('batch count');
  checkBatchRange(batchStart, batchCount, failDecode);
  const unitSize = r.u32('unit size');
  checkUnitSize(batchCount, unitSize, failDecode);
  const digest = hexOf(r.bytesCopy(4, 'shape digest'));
  const expDigest = hexOf(shapeDigest(expect.shapes));
  if (digest !== expDigest) failDecode('shape', `shape digest ${digest}; the run's tensor shapes give ${expDigest} (another model?)`);
  const chunk = r.u16('chunk');
  if (chunk !== expect.chunk) failDecode('chunk', `chunk ${chunk}; the run's is ${expect.chunk}`);
  const topk = r.u16('top-k');
  if (topk !== expect.topk) failDecode('k', `top-k ${topk}; the run's is ${expect.topk}`);
  const flags = r.u8('flags');
  if (flags & ~FLAG_ONE_BIT) failDecode('flags', `reserved flag bits set (flags 0x${flags.toString(16)})`);
  const quantize1bit = (flags & FLAG_ONE_BIT) !== 0;
  if (expect.quantize1bit !== undefined && quantize1bit !== expect.quantize1bit) {
    const name = (b: boolean) => (b ? '1-bit' : 'unquantized');
    failDecode('flags', `${name(quantize1bit)} values, but the run's updates are ${name(expect.quantize1bit)}`);
  }
  return { runId, step, batchStart, batchCount, unitSize, quantize1bit };
}

function readIndices(bits: BitReader, t: number, l: TensorLayout): Uint32Array {
  const out = new Uint32Array(l.entries);
  for (let i = 0; i < l.entries; i++) out[i] = bits.read(l.bits);
  checkIndices(t, l.shape, l.block, l.k, out, failDecode);
  return out;
}

function readSigns(bits: BitReader, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = bits.read(1) ? -1 : 1;
  return out;
}

function checkPadding(stream: Uint8Array, usedBits: number): void {
  const spare = stream.length * 8 - usedBits;
  if (spare > 0 && stream[stream.length - 1] >>> (8 - spare) !== 0) {
    failDecode('padding', `the ${spare} padding bits after the bit stream's ${usedBits} bits are not zero`);
  }
}

function readFloats(r: ByteReader, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.f32('value');
  return out;
}

/**
 * Parse and fully validate an update against the run's expected shapes.
 * Throws `UpdateDecodeError` for any malformed payload and only that (a
 * RangeError means `expect` itself is invalid). Whatever it returns re-encodes,
 * with its own mode, to exactly `bytes`.
 */
export function decodeUpdate(bytes: Uint8Array, expect: ExpectedUpdate): DecodedUpdate {
  validateExpect(expect);
  const r = newReader(bytes);
  const header = readHeader(r, expect);
  const oneBit = header.quantize1bit;
  const layouts = expect.shapes.map((s) => tensorLayout([...s], expect.chunk, expect.topk));
  const size = bodySize(layouts, oneBit);
  const total = size.total + proofBytes(header.batchCount, header.unitSize);
  if (r.remaining < total) {
    failDecode('truncated', `the body of ${size.entries} entries and ${proofUnits(header.batchCount, header.unitSize)} proofs needs ${total} bytes at offset ${r.offset}, only ${r.remaining} remain`);
  }
  if (r.remaining > total) {
    failDecode('trailing-bytes', `${r.remaining - total} bytes after the body (offset ${r.offset + total})`);
  }
  const stream = r.bytesCopy(size.streamBytes, 'bit stream');
  const bits = new BitReader(stream);
  const tensors: UpdateTensor[] = layouts.map((l, t) => ({ shape: l.shape, block: l.block, k: l.k, indices: readIndices(bits, t, l), values: new Float32Array(0) }));
  for (const tensor of tensors) tensor.values = oneBit ? readSigns(bits, tensor.indices.length) : readFloats(r, tensor.indices.length);
  checkPadding(stream, bits.position);
  tensors.forEach((tensor, t) => checkValues(t, tensor.shape, tensor.block, tensor.k, tensor.values, oneBit, failDecode));
  const proof = new Float32Array(proofUnits(header.batchCount, header.unitSize) * PROOF_ROWS);
  for (let i = 0; i < proof.length; i++) proof[i] = r.f32('proof');
  checkProof(proof, header.batchCount, header.unitSize, failDecode);
  const { quantize1bit, ...rest } = header;
  return { version: UPDATE_FORMAT_VERSION, ...rest, tensors, proof, chunk: expect.chunk, topk: expect.topk, quantize1bit };
}
