/**
 * safetensors (https://github.com/huggingface/safetensors) encode/decode.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}},
 * then the data, with offsets relative to the data start.
 *
 * We write F32 only. We read F32, and F16/BF16 widened to f32. The decoder is
 * strict because checkpoints come from the network: it requires the data to
 * be covered exactly once by the tensors (no overlap, no hole, no trailing
 * bytes), as the reference implementation does, so that a file cannot hide
 * anything and a silently-dropped duplicate JSON key shows up as a hole.
 */
import { z } from 'zod';

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export type ReadDtype = 'F32' | 'F16' | 'BF16';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface DecodedTensor extends Tensor {
  /** The dtype in the file (data is always widened to f32). */
  dtype: ReadDtype;
}

export interface DecodedSafetensors {
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string> | null;
}

/** The reference implementation's header cap; anything bigger is not a real checkpoint header. */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES_PER_ELEMENT: Record<ReadDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const METADATA_KEY = '__metadata__';

// The rest of the dtypes the format defines, so that their error says "unsupported" rather than "unknown".
const OTHER_DTYPES = new Set(['F64', 'F8_E5M2', 'F8_E4M3', 'BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

/** Encodes f32 tensors in the given order; the header is space-padded so the data starts 8-byte aligned. */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    checkEncodable(name, t);
    if (Object.hasOwn(header, name)) throw new SafetensorsError(`safetensors: tensor name "${name}" is reserved`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const t of tensors.values()) {
    writeF32(out, at, t.data);
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const { header, dataStart } = readHeader(bytes);
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: { name: string; entry: HeaderEntry }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value);
    else entries.push({ name, entry: parseEntry(name, value, dataLength) });
  }
  checkCoverage(entries, dataLength);
  const tensors = new Map<string, DecodedTensor>();
  for (const { name, entry } of entries) {
    const [begin, end] = entry.data_offsets;
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype: entry.dtype, shape: entry.shape, data: toF32(raw, entry.dtype) });
  }
  return { tensors, metadata };
}

function checkEncodable(name: string, t: Tensor): void {
  if (name.length === 0) throw new SafetensorsError('safetensors: tensor names must not be empty');
  if (!(t.data instanceof Float32Array)) throw new SafetensorsError(`safetensors: tensor "${name}" must be a Float32Array (only F32 is written)`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(`safetensors: tensor "${name}" has an invalid shape [${t.shape.join(', ')}]`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new SafetensorsError(`safetensors: tensor "${name}" has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${n}`);
  }
}

function readHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError('safetensors: input must be a Uint8Array');
  if (bytes.length < 8) throw new SafetensorsError(`safetensors: file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) throw new SafetensorsError(`safetensors: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) throw new SafetensorsError(`safetensors: header length ${n} is too small for a JSON object`);
  if (8 + n > bytes.length) throw new SafetensorsError(`safetensors: header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new SafetensorsError('safetensors: header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw new SafetensorsError('safetensors: header must start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('safetensors: header must be a JSON object');
  }
  return { header: header as Record<string, unknown>, dataStart: 8 + n };
}

function parseMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SafetensorsError('safetensors: __metadata__ must be an object of strings');
  }
  // A null-prototype copy, so that keys like "__proto__" stay plain data.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(`safetensors: __metadata__ value "${k}" must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

const dim = z.number().int('dimensions must be integers').nonnegative('dimensions must be non-negative').max(Number.MAX_SAFE_INTEGER);
const offset = z.number().int('offsets must be integers').nonnegative('offsets must be non-negative').max(Number.MAX_SAFE_INTEGER);
const entrySchema = z
  .object({
    dtype: z.string(),
    shape: z.array(dim),
    data_offsets: z.tuple([offset, offset]),
  })
  .strict();

interface HeaderEntry {
  dtype: ReadDtype;
  shape: number[];
  data_offsets: [number, number];
}

function parseEntry(name: string, value: unknown, dataLength: number): HeaderEntry {
  const where = `safetensors: tensor "${name}"`;
  const r = entrySchema.safeParse(value);
  if (!r.success) throw new SafetensorsError(`${where} has an invalid header entry:\n${z.prettifyError(r.error)}`);
  const { dtype, shape, data_offsets: [begin, end] } = r.data;
  if (!(dtype in BYTES_PER_ELEMENT)) {
    const why = OTHER_DTYPES.has(dtype) ? 'is not supported (F32, F16, BF16 only)' : 'is not a safetensors dtype';
    throw new SafetensorsError(`${where}: dtype "${dtype}" ${why}`);
  }
  if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`);
  const bytes = byteSize(shape, BYTES_PER_ELEMENT[dtype as ReadDtype]);
  if (bytes !== BigInt(end - begin)) {
    const needs = bytes > BYTE_SIZE_CAP ? `more than ${BYTE_SIZE_CAP}` : `${bytes}`;
    throw new SafetensorsError(`${where}: shape ${formatShape(shape)} of ${dtype} needs ${needs} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { dtype: dtype as ReadDtype, shape, data_offsets: [begin, end] };
}

/** Hostile shapes can be long; an error message needs only the start. */
function formatShape(shape: number[]): string {
  return shape.length <= 8 ? `[${shape.join(', ')}]` : `[${shape.slice(0, 8).join(', ')}, … (${shape.length} dims)]`;
}

const BYTE_SIZE_CAP = 2n ** 64n;

/**
 * Exact byte size in BigInt (so a huge shape cannot lose precision and match
 * the span by accident), capped just above 2^64 so that a hostile header with
 * a million dimensions cannot make the product itself slow.
 */
function byteSize(shape: number[], elementBytes: number): bigint {
  if (shape.includes(0)) return 0n;
  let n = BigInt(elementBytes);
  for (const d of shape) {
    n *= BigInt(d);
    if (n > BYTE_SIZE_CAP) return BYTE_SIZE_CAP + 1n;
  }
  return n;
}

/** The tensors must tile the data section exactly: sorted by offset, each starts where the previous ended. */
function checkCoverage(entries: { name: string; entry: HeaderEntry }[], dataLength: number): void {
  const sorted = entries
    .filter((e) => e.entry.data_offsets[1] > e.entry.data_offsets[0])
    .sort((a, b) => a.entry.data_offsets[0] - b.entry.data_offsets[0]);
  let at = 0;
  let previous = '';
  for (const { name, entry } of sorted) {
    const [begin] = entry.data_offsets;
    if (begin < at) throw new SafetensorsError(`safetensors: tensor "${name}" overlaps tensor "${previous}" (starts at ${begin}, before ${at})`);
    if (begin > at) throw new SafetensorsError(`safetensors: ${begin - at} unreferenced bytes before tensor "${name}" (at ${at}…${begin})`);
    at = entry.data_offsets[1];
    previous = name;
  }
  if (at !== dataLength) throw new SafetensorsError(`safetensors: ${dataLength - at} trailing bytes after the last tensor`);
}

function toF32(raw: Uint8Array, dtype: ReadDtype): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = raw.byteLength / BYTES_PER_ELEMENT[dtype];
  const out = new Float32Array(n);
  // Words, not getFloat32: a NaN's payload must survive a round trip bit for bit.
  const word = new Uint32Array(out.buffer);
  if (dtype === 'F32') {
    for (let i = 0; i < n; i++) word[i] = view.getUint32(4 * i, true);
  } else if (dtype === 'BF16') {
    for (let i = 0; i < n; i++) word[i] = view.getUint16(2 * i, true) << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  }
  return out;
}

/** IEEE binary16 → number, exactly (every f16 value is representable in f32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function writeF32(out: Uint8Array, at: number, data: Float32Array): void {
  // Copying the raw words (not getFloat32/setFloat32) keeps NaN payloads bit-exact.
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) {
    out.set(src, at);
    return;
  }
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const view = new DataView(out.buffer, out.byteOffset);
  for (let i = 0; i < words.length; i++) view.setUint32(at + 4 * i, words[i], true);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
