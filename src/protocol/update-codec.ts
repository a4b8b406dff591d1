/**
 * Wire format of one client's DeMo update for one step (DESIGN.md §4, last
 * paragraph), format version 1. All integers are little-endian and unsigned;
 * fields follow each other with no alignment padding.
 *
 * Header (42 bytes)
 *   off  size  field
 *     0     4  magic: ASCII "TSRU" (54 53 52 55)
 *     4     2  format version, u16 = 1
 *     6    16  run id: 16 opaque bytes fixed by the coordinator when the run is
 *              created (the raw bytes of a random RFC 9562 UUIDv4). It
 *              names the run, so an update for another run (even one with the
 *              same model shapes) can never be mistaken for this one.
 *    22     4  step, u32. 2^32 steps outlast any run (136 years at one step a
 *              second; real steps take tens of seconds), and a u32 is an exact
 *              JS number with no BigInt or 2^53 edge to police.
 *    26     8  batch start, u64: the index of the first data batch this client
 *              trained on. u64 because batch indices count across all clients
 *              and the whole run (1000 clients × 4 batches × 1M steps > 2^32).
 *              Must be ≤ 2^53 − 1 together with the count (see below).
 *    34     4  batch count, u32, ≥ 1; batches [start, start + count) with
 *              start + count ≤ Number.MAX_SAFE_INTEGER, so both ends are exact.
 *    38     4  tensor count, u32; must equal the run's parameter tensor count.
 *    42        tensors, in the run's parameter order, back to back.
 *
 * Per tensor (r = rank; offsets relative to the tensor's first byte)
 *     0     1  rank, u8: 1 or 2 (must equal the expected shape's rank)
 *     1    4r  shape, u32 per dim, outermost first (must equal the expected shape)
 *  1+4r    4r  block shape, u32 per dim: per dim the largest divisor of the dim
 *              that is ≤ the run's chunk (must equal that exactly)
 *  1+8r     2  k, u16: coefficients kept per block = min(top-k, block elements)
 *  3+8r     1  index width in bits, u8: 8 if block elements ≤ 256, 16 if
 *              ≤ 65536, else 32 (must equal exactly that)
 *  4+8r     1  flags, u8: bit 0 = values are 1-bit signs; bits 1–7 reserved, 0.
 *              Every tensor of one update uses the same mode.
 *  5+8r  N·w/8 indices: N = blocks·k entries of w = width/8 bytes. Blocks are
 *              in row-major order of the block grid; within a block the k
 *              entries are flat indices (u·cc + v for 2-D blocks) strictly
 *              increasing, each < block elements. Sorting makes the encoding
 *              canonical: one update has exactly one byte string, so its
 *              commitment is well defined.
 *     …        values, aligned with the indices:
 *              1-bit mode: ceil(N/8) bytes; entry i is bit (i mod 8) of byte
 *              floor(i/8) (LSB-first), 1 = negative (−1), 0 = +1; the padding
 *              bits of the last byte must be 0 (canonical again).
 *              unquantized mode: N × f32, finite (±0 allowed, bits preserved).
 *
 * The decoder takes the expected shapes, chunk and top-k from the caller (the
 * run's config), never from the payload, and checks every redundant field
 * against them; the header's lengths are only trusted after they match, and
 * the remaining byte count is checked before any array is allocated.
 */

import { ByteReader, ByteWriter } from './bytes';
import {
  blockCount,
  blockShape,
  elementCount,
  indexWidth,
  keptPerBlock,
  type IndexWidth,
} from '../demo/blocks';

export const UPDATE_MAGIC = 'TSRU';
export const UPDATE_FORMAT_VERSION = 1;
export const RUN_ID_BYTES = 16;
export const UPDATE_HEADER_BYTES = 42;

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
  tensors: UpdateTensor[];
}

/** What the run's config says an update must look like. */
export interface ExpectedUpdate {
  shapes: number[][];
  chunk: number;
  topk: number;
  /** When given, the update's value mode must be this one. */
  quantize1bit?: boolean;
}

/** A decoded update, with the value mode it was sent in (needed to re-encode it bit for bit). */
export interface DecodedUpdate extends ClientUpdate {
  quantize1bit: boolean;
}

export type UpdateErrorCode =
  | 'bad-magic'
  | 'bad-version'
  | 'run-id'
  | 'step'
  | 'batch-range'
  | 'truncated'
  | 'tensor-count'
  | 'rank'
  | 'shape'
  | 'block-shape'
  | 'k'
  | 'index-width'
  | 'flags'
  | 'length'
  | 'index-range'
  | 'index-order'
  | 'non-finite'
  | 'not-sign'
  | 'padding'
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
// Encoder

function validateTensorForEncode(t: number, tensor: UpdateTensor, oneBit: boolean): void {
  const { shape, block, k, indices, values } = tensor;
  const rank = shape.length;
  if (rank !== 1 && rank !== 2) failEncode('rank', `tensor ${t}: rank ${rank} is not 1 or 2`);
  shape.forEach((d, i) => {
    if (!isUint(d, U32_MAX) || d === 0) failEncode('shape', `tensor ${t} dim ${i}: ${d} is not an integer in [1, 2^32)`);
  });
  if (block.length !== rank) failEncode('block-shape', `tensor ${t}: block rank ${block.length} ≠ shape rank ${rank}`);
  block.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 1 || shape[i] % d !== 0) {
      failEncode('block-shape', `tensor ${t} dim ${i}: block ${d} does not divide ${shape[i]}`);
    }
  });
  const blockElements = elementCount(block);
  if (!isUint(k, U16_MAX) || k === 0 || k > blockElements) {
    failEncode('k', `tensor ${t}: k ${k} is not in [1, min(65535, block elements ${blockElements})]`);
  }
  const n = blockCount(shape, block) * k;
  if (!(indices instanceof Uint32Array) || indices.length !== n) {
    failEncode('length', `tensor ${t}: indices must be a Uint32Array of blocks·k = ${n}, got ${indices.length}`);
  }
  if (!(values instanceof Float32Array) || values.length !== n) {
    failEncode('length', `tensor ${t}: values must be a Float32Array of blocks·k = ${n}, got ${values.length}`);
  }
  checkIndices(t, shape, block, k, indices, failEncode);
  checkValues(t, shape, block, k, values, oneBit, failEncode);
}

function validateForEncode(update: ClientUpdate, oneBit: boolean): void {
  if (update.version !== UPDATE_FORMAT_VERSION) {
    failEncode('bad-version', `version ${update.version}; this encoder writes ${UPDATE_FORMAT_VERSION}`);
  }
  if (!(update.runId instanceof Uint8Array) || update.runId.length !== RUN_ID_BYTES) {
    failEncode('run-id', `run id must be ${RUN_ID_BYTES} bytes, got ${update.runId?.length}`);
  }
  if (!isUint(update.step, U32_MAX)) failEncode('step', `step ${update.step} is not an integer in [0, 2^32)`);
  checkBatchRange(update.batchStart, update.batchCount, failEncode);
  if (update.tensors.length > U32_MAX) failEncode('tensor-count', `${update.tensors.length} tensors do not fit a u32`);
  update.tensors.forEach((tensor, t) => validateTensorForEncode(t, tensor, oneBit));
}

function valueBytes(n: number, oneBit: boolean): number {
  return oneBit ? Math.ceil(n / 8) : 4 * n;
}

function encodedTensorSize(tensor: UpdateTensor, oneBit: boolean): number {
  const rank = tensor.shape.length;
  const width = indexWidth(elementCount(tensor.block));
  const n = tensor.indices.length;
  return 1 + 8 * rank + 2 + 1 + 1 + (n * width) / 8 + valueBytes(n, oneBit);
}

function writeIndices(w: ByteWriter, indices: Uint32Array, width: IndexWidth): void {
  for (const idx of indices) {
    if (width === 8) w.u8(idx);
    else if (width === 16) w.u16(idx);
    else w.u32(idx);
  }
}

function writeSigns(w: ByteWriter, values: Float32Array): void {
  const packed = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0) packed[i >> 3] |= 1 << (i & 7);
  }
  w.raw(packed);
}

function writeTensor(w: ByteWriter, tensor: UpdateTensor, oneBit: boolean): void {
  const width = indexWidth(elementCount(tensor.block));
  w.u8(tensor.shape.length);
  for (const d of tensor.shape) w.u32(d);
  for (const d of tensor.block) w.u32(d);
  w.u16(tensor.k);
  w.u8(width);
  w.u8(oneBit ? FLAG_ONE_BIT : 0);
  writeIndices(w, tensor.indices, width);
  if (oneBit) writeSigns(w, tensor.values);
  else for (const v of tensor.values) w.f32(v);
}

/**
 * Serialize an update. Throws `UpdateEncodeError` for anything the decoder
 * would reject on its own (it cannot check the block rule or k against the
 * run's chunk/top-k: it does not know them), so a peer never commits to bytes
 * that others will refuse.
 */
export function encodeUpdate(update: ClientUpdate, quantize1bit: boolean): Uint8Array {
  validateForEncode(update, quantize1bit);
  const size = update.tensors.reduce((acc, t) => acc + encodedTensorSize(t, quantize1bit), UPDATE_HEADER_BYTES);
  const w = new ByteWriter(size);
  w.raw(MAGIC_BYTES);
  w.u16(UPDATE_FORMAT_VERSION);
  w.raw(update.runId);
  w.u32(update.step);
  w.u64(update.batchStart);
  w.u32(update.batchCount);
  w.u32(update.tensors.length);
  for (const tensor of update.tensors) writeTensor(w, tensor, quantize1bit);
  return w.bytes;
}

// ---------------------------------------------------------------------------
// Decoder

/** A wrong `expect` is a bug in the caller, not a bad payload: plain RangeError. */
function validateExpect(expect: ExpectedUpdate): void {
  if (!Number.isInteger(expect.chunk) || expect.chunk < 1) throw new RangeError(`expect.chunk ${expect.chunk} must be a positive integer`);
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
}

function readHeader(r: ByteReader, expectedTensors: number): Header {
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
  const tensorCount = r.u32('tensor count');
  if (tensorCount !== expectedTensors) failDecode('tensor-count', `${tensorCount} tensors; the run has ${expectedTensors}`);
  return { runId, step, batchStart, batchCount };
}

function readDims(r: ByteReader, rank: number, field: string): number[] {
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(r.u32(`${field} dim ${i}`));
  return dims;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

interface TensorHead {
  shape: number[];
  block: number[];
  k: number;
  width: IndexWidth;
  oneBit: boolean;
}

/** Reads and checks the fixed fields of tensor `t`; `mode` is the value mode required (null: not yet fixed). */
function readTensorHead(r: ByteReader, t: number, expShape: number[], expect: ExpectedUpdate, mode: boolean | null): TensorHead {
  const rank = r.u8(`tensor ${t} rank`);
  if (rank !== expShape.length) failDecode('rank', `tensor ${t}: rank ${rank}; expected ${expShape.length}`);
  const shape = readDims(r, rank, `tensor ${t} shape`);
  if (!sameDims(shape, expShape)) failDecode('shape', `tensor ${t}: shape [${shape}]; expected [${expShape}]`);
  const block = readDims(r, rank, `tensor ${t} block`);
  const expBlock = blockShape(expShape, expect.chunk);
  if (!sameDims(block, expBlock)) {
    failDecode('block-shape', `tensor ${t}: block [${block}]; chunk ${expect.chunk} gives [${expBlock}]`);
  }
  const blockElements = elementCount(block);
  const k = r.u16(`tensor ${t} k`);
  const expK = keptPerBlock(blockElements, expect.topk);
  if (k !== expK) failDecode('k', `tensor ${t}: k ${k}; expected ${expK} (top-k ${expect.topk}, block elements ${blockElements})`);
  const width = r.u8(`tensor ${t} index width`);
  const expWidth = indexWidth(blockElements);
  if (width !== expWidth) failDecode('index-width', `tensor ${t}: index width ${width}; block of ${blockElements} needs ${expWidth}`);
  const flags = r.u8(`tensor ${t} flags`);
  if (flags & ~FLAG_ONE_BIT) failDecode('flags', `tensor ${t}: reserved flag bits set (flags 0x${flags.toString(16)})`);
  const oneBit = (flags & FLAG_ONE_BIT) !== 0;
  if (mode !== null && oneBit !== mode) {
    failDecode('flags', `tensor ${t}: ${oneBit ? '1-bit' : 'unquantized'} values, but the update is ${mode ? '1-bit' : 'unquantized'}`);
  }
  return { shape, block, k, width: expWidth, oneBit };
}

function readIndices(r: ByteReader, t: number, n: number, width: IndexWidth): Uint32Array {
  r.require((n * width) / 8, `tensor ${t} indices (${n} × u${width})`);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = width === 8 ? r.u8('index') : width === 16 ? r.u16('index') : r.u32('index');
  return out;
}

function readSigns(r: ByteReader, t: number, n: number): Float32Array {
  const packed = r.bytesCopy(Math.ceil(n / 8), `tensor ${t} sign bits (${n})`);
  const spare = packed.length * 8 - n;
  if (spare > 0 && packed[packed.length - 1] >>> (8 - spare) !== 0) {
    failDecode('padding', `tensor ${t}: the ${spare} padding bits after ${n} signs are not zero`);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (packed[i >> 3] >> (i & 7)) & 1 ? -1 : 1;
  return out;
}

function readFloats(r: ByteReader, t: number, n: number): Float32Array {
  r.require(4 * n, `tensor ${t} values (${n} × f32)`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.f32('value');
  return out;
}

function readTensor(r: ByteReader, t: number, expShape: number[], expect: ExpectedUpdate, mode: boolean | null): { tensor: UpdateTensor; oneBit: boolean } {
  const head = readTensorHead(r, t, expShape, expect, mode);
  const { shape, block, k, width, oneBit } = head;
  const n = blockCount(shape, block) * k;
  const indices = readIndices(r, t, n, width);
  checkIndices(t, shape, block, k, indices, failDecode);
  const values = oneBit ? readSigns(r, t, n) : readFloats(r, t, n);
  checkValues(t, shape, block, k, values, oneBit, failDecode);
  return { tensor: { shape, block, k, indices, values }, oneBit };
}

/**
 * Parse and fully validate an update against the run's expected shapes.
 * Throws `UpdateDecodeError` for any malformed payload and only that (a
 * RangeError means `expect` itself is invalid). Whatever it returns re-encodes,
 * with `quantize1bit` as returned, to exactly `bytes`.
 */
export function decodeUpdate(bytes: Uint8Array, expect: ExpectedUpdate): DecodedUpdate {
  validateExpect(expect);
  const r = newReader(bytes);
  const header = readHeader(r, expect.shapes.length);
  let mode: boolean | null = expect.quantize1bit ?? null;
  const tensors: UpdateTensor[] = [];
  for (let t = 0; t < expect.shapes.length; t++) {
    const { tensor, oneBit } = readTensor(r, t, expect.shapes[t], expect, mode);
    mode = oneBit;
    tensors.push(tensor);
  }
  if (r.remaining !== 0) failDecode('trailing-bytes', `${r.remaining} bytes after the last tensor (offset ${r.offset})`);
  // With no tensors the mode is not on the wire; either choice re-encodes identically.
  return { version: UPDATE_FORMAT_VERSION, ...header, tensors, quantize1bit: mode ?? true };
}
