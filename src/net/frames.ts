/**
 * One payload (an encoded update, up to 64 MiB) as data-channel frames, and
 * the strict reassembler on the receiving side (docs/run.md "Peer mesh").
 *
 * A WebRTC data-channel message is only safe up to 16 KiB across browsers
 * (Chromium allows more; RTCSctpTransport.maxMessageSize says how much), so a
 * payload travels as frames of at most `maxFrame` bytes, each a 60-byte
 * header and a body. All integers little-endian:
 *
 *   off  size  field
 *     0     4  magic "TSFR"
 *     4     1  version (1)
 *     5     1  kind (FRAME_KIND)
 *     6     2  reserved, 0
 *     8     4  transfer id (sender's choice, unique among its live transfers to this peer)
 *    12     4  frame index, < frame count
 *    16     4  frame count = ⌈total / chunk⌉
 *    20     4  total payload length, 1 … cap
 *    24     4  chunk: body bytes of every frame but the last
 *    28    32  SHA-256 of the whole payload
 *    60     …  body: payload[index·chunk, min(total, (index+1)·chunk))
 *
 * Every frame carries the whole header, hash included (0.2% of a 16 KiB
 * frame): each frame is self-describing, so the reassembler can check every
 * one against the first it saw of that transfer, in any arrival order.
 *
 * The reassembler keeps the bodies it received and allocates the payload only
 * when the last frame arrives: a hostile header can never make it allocate
 * more than the bytes the peer actually sent (and every length is checked
 * against the cap first). It hashes the joined payload and returns it only
 * if it matches the header's hash, so whatever leaves this module is exactly
 * what the sender hashed; whether that hash is a commitment of the round is
 * the caller's question.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export const FRAME_MAGIC = 0x52465354; // "TSFR" read as u32 LE
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 60;
export const HASH_BYTES = 32;
/** The largest message every browser's data channel delivers intact. */
export const DEFAULT_MAX_FRAME = 16 * 1024;
/** Largest payload a sender may frame and the reassembler's default cap. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Smallest chunk a multi-frame transfer may use: bounds a transfer's frame count (and bookkeeping) by cap / 1 KiB. */
export const MIN_CHUNK = 1024;

/** What a payload is; a receiver rejects kinds it does not know. */
export const FRAME_KIND = { update: 1 } as const;
export type FrameKind = (typeof FRAME_KIND)[keyof typeof FRAME_KIND];
const KNOWN_KINDS: ReadonlySet<number> = new Set(Object.values(FRAME_KIND));

export type FrameErrorCode =
  | 'BAD_ARGUMENT'
  | 'TOO_SHORT'
  | 'FRAME_TOO_LARGE'
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'BAD_KIND'
  | 'BAD_RESERVED'
  | 'BAD_CHUNK'
  | 'TOO_LARGE'
  | 'BAD_TOTAL'
  | 'BAD_COUNT'
  | 'BAD_INDEX'
  | 'BAD_LENGTH'
  | 'INCONSISTENT'
  | 'DUPLICATE_FRAME'
  | 'TOO_MANY_TRANSFERS'
  | 'HASH_MISMATCH';

/** Every problem this module finds; `transferId`/`hash` name the transfer when the header was readable. */
export class FrameError extends Error {
  override readonly name = 'FrameError';

  constructor(
    readonly code: FrameErrorCode,
    /** What was wrong, without the code. */
    readonly reason: string,
    readonly transferId?: number,
    readonly hash?: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

export interface FrameHeader {
  kind: number;
  transferId: number;
  index: number;
  count: number;
  total: number;
  chunk: number;
  hash: Uint8Array;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Number of frames a payload of `total` bytes takes with frames of `maxFrame` bytes. */
export function frameCount(total: number, maxFrame = DEFAULT_MAX_FRAME): number {
  return Math.ceil(total / (maxFrame - FRAME_HEADER_BYTES));
}

export interface EncodeOptions {
  payload: Uint8Array;
  /** SHA-256 of the payload, 32 bytes. Not recomputed here: the receiver checks it. */
  hash: Uint8Array;
  transferId: number;
  kind?: FrameKind;
  maxFrame?: number;
}

function checkEncodeOptions(o: EncodeOptions, maxFrame: number, kind: number): void {
  const bad = (what: string) => {
    throw new FrameError('BAD_ARGUMENT', what);
  };
  if (!(o.payload instanceof Uint8Array)) bad('payload must be a Uint8Array');
  if (o.payload.length < 1 || o.payload.length > MAX_PAYLOAD_BYTES) bad(`payload length ${o.payload.length} is outside 1…${MAX_PAYLOAD_BYTES}`);
  if (!(o.hash instanceof Uint8Array) || o.hash.length !== HASH_BYTES) bad(`hash must be ${HASH_BYTES} bytes`);
  if (!isU32(o.transferId)) bad(`transferId ${o.transferId} is not a u32`);
  if (!KNOWN_KINDS.has(kind)) bad(`unknown kind ${kind}`);
  if (!Number.isInteger(maxFrame) || maxFrame < FRAME_HEADER_BYTES + MIN_CHUNK || maxFrame > 0x7fffffff) {
    bad(`maxFrame ${maxFrame} must be an integer ≥ ${FRAME_HEADER_BYTES + MIN_CHUNK}`);
  }
}

function writeHeader(frame: Uint8Array, h: FrameHeader): void {
  const v = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint8(4, FRAME_VERSION);
  v.setUint8(5, h.kind);
  v.setUint16(6, 0, true);
  v.setUint32(8, h.transferId, true);
  v.setUint32(12, h.index, true);
  v.setUint32(16, h.count, true);
  v.setUint32(20, h.total, true);
  v.setUint32(24, h.chunk, true);
  frame.set(h.hash, 28);
}

/**
 * The payload's frames, made one at a time so that a sender waiting on
 * back-pressure holds one frame, not a second copy of the payload.
 * Arguments are checked before the first frame is made.
 */
export function encodeFrames(o: EncodeOptions): Generator<Uint8Array> {
  const maxFrame = o.maxFrame ?? DEFAULT_MAX_FRAME;
  const kind = o.kind ?? FRAME_KIND.update;
  checkEncodeOptions(o, maxFrame, kind);
  return generateFrames(o.payload, o.hash.slice(), o.transferId, kind, maxFrame);
}

function* generateFrames(payload: Uint8Array, hash: Uint8Array, transferId: number, kind: number, maxFrame: number): Generator<Uint8Array> {
  const chunk = maxFrame - FRAME_HEADER_BYTES;
  const total = payload.length;
  const count = Math.ceil(total / chunk);
  for (let index = 0; index < count; index++) {
    const body = payload.subarray(index * chunk, Math.min(total, (index + 1) * chunk));
    const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
    writeHeader(frame, { kind, transferId, index, count, total, chunk, hash });
    frame.set(body, FRAME_HEADER_BYTES);
    yield frame;
  }
}

/** Reads and checks one frame's header on its own (no transfer state); the body length is checked too. */
export function readFrameHeader(frame: Uint8Array, maxTotalBytes: number, maxFrameBytes: number): FrameHeader {
  if (frame.length < FRAME_HEADER_BYTES) throw new FrameError('TOO_SHORT', `frame of ${frame.length} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`);
  if (frame.length > maxFrameBytes) throw new FrameError('FRAME_TOO_LARGE', `frame of ${frame.length} bytes exceeds ${maxFrameBytes}`);
  const v = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new FrameError('BAD_MAGIC', 'not a Tessera frame');
  const version = v.getUint8(4);
  if (version !== FRAME_VERSION) throw new FrameError('BAD_VERSION', `version ${version}, expected ${FRAME_VERSION}`);
  const h: FrameHeader = {
    kind: v.getUint8(5),
    transferId: v.getUint32(8, true),
    index: v.getUint32(12, true),
    count: v.getUint32(16, true),
    total: v.getUint32(20, true),
    chunk: v.getUint32(24, true),
    hash: frame.slice(28, 28 + HASH_BYTES),
  };
  const fail = (code: FrameErrorCode, message: string): never => {
    throw new FrameError(code, message, h.transferId, bytesToHex(h.hash));
  };
  if (!KNOWN_KINDS.has(h.kind)) fail('BAD_KIND', `unknown kind ${h.kind}`);
  if (v.getUint16(6, true) !== 0) fail('BAD_RESERVED', 'reserved bytes are not zero');
  if (h.total > maxTotalBytes) fail('TOO_LARGE', `payload of ${h.total} bytes exceeds the cap of ${maxTotalBytes}`);
  if (h.total < 1) fail('BAD_TOTAL', 'payload length is 0');
  if (h.chunk < MIN_CHUNK || h.chunk > maxFrameBytes - FRAME_HEADER_BYTES) {
    fail('BAD_CHUNK', `chunk ${h.chunk} is outside ${MIN_CHUNK}…${maxFrameBytes - FRAME_HEADER_BYTES}`);
  }
  if (h.count !== Math.ceil(h.total / h.chunk)) fail('BAD_COUNT', `frame count ${h.count} ≠ ⌈${h.total} / ${h.chunk}⌉`);
  if (h.index >= h.count) fail('BAD_INDEX', `frame index ${h.index} is not below the count ${h.count}`);
  const bodyBytes = h.index < h.count - 1 ? h.chunk : h.total - (h.count - 1) * h.chunk;
  if (frame.length - FRAME_HEADER_BYTES !== bodyBytes) {
    fail('BAD_LENGTH', `frame ${h.index} carries ${frame.length - FRAME_HEADER_BYTES} body bytes, expected ${bodyBytes}`);
  }
  return h;
}

function sameTransfer(a: FrameHeader, b: FrameHeader): boolean {
  if (a.kind !== b.kind || a.count !== b.count || a.total !== b.total || a.chunk !== b.chunk) return false;
  for (let i = 0; i < HASH_BYTES; i++) if (a.hash[i] !== b.hash[i]) return false;
  return true;
}

export interface ReassemblerOptions {
  /** Largest payload accepted; default MAX_PAYLOAD_BYTES. */
  maxTotalBytes?: number;
  /** Largest frame accepted (the channel's message size); default 256 KiB, Chromium's maxMessageSize. */
  maxFrameBytes?: number;
  /** Transfers this peer may have open at once; default 4. */
  maxTransfers?: number;
}

export interface Reassembled {
  transferId: number;
  kind: number;
  /** SHA-256 of `bytes`, lowercase hex; checked. */
  hash: string;
  bytes: Uint8Array;
}

interface Transfer {
  header: FrameHeader;
  bodies: (Uint8Array | undefined)[];
  received: number;
}

/** One per remote peer: frames in, verified payloads out. */
export class Reassembler {
  private readonly transfers = new Map<number, Transfer>();
  private readonly maxTotalBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxTransfers: number;

  constructor(options: ReassemblerOptions = {}) {
    this.maxTotalBytes = options.maxTotalBytes ?? MAX_PAYLOAD_BYTES;
    this.maxFrameBytes = options.maxFrameBytes ?? 256 * 1024;
    this.maxTransfers = options.maxTransfers ?? 4;
    if (!isU32(this.maxTotalBytes) || this.maxTotalBytes < 1) throw new FrameError('BAD_ARGUMENT', `maxTotalBytes ${this.maxTotalBytes} must be a u32 ≥ 1`);
    if (!Number.isInteger(this.maxFrameBytes) || this.maxFrameBytes < FRAME_HEADER_BYTES + MIN_CHUNK) {
      throw new FrameError('BAD_ARGUMENT', `maxFrameBytes ${this.maxFrameBytes} must be an integer ≥ ${FRAME_HEADER_BYTES + MIN_CHUNK}`);
    }
    if (!Number.isInteger(this.maxTransfers) || this.maxTransfers < 1) throw new FrameError('BAD_ARGUMENT', `maxTransfers ${this.maxTransfers} must be ≥ 1`);
  }

  /** Transfers begun and not yet finished. */
  get pending(): number {
    return this.transfers.size;
  }

  /** Forgets every partial transfer (the peer went away). */
  clear(): void {
    this.transfers.clear();
  }

  /**
   * Takes one frame. Returns the payload when this frame completed it, else
   * null. Throws FrameError for any bad frame; a bad frame of an open
   * transfer also discards that transfer, since its sender is not following
   * the format and nothing more from it can be trusted.
   */
  push(input: Uint8Array): Reassembled | null {
    if (!(input instanceof Uint8Array)) throw new FrameError('BAD_ARGUMENT', 'frame must be a Uint8Array');
    // A Node/browserify Buffer's slice() is a view; a plain Uint8Array's copies.
    const frame = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let header: FrameHeader;
    try {
      header = readFrameHeader(frame, this.maxTotalBytes, this.maxFrameBytes);
    } catch (err) {
      if (err instanceof FrameError && err.transferId !== undefined) this.transfers.delete(err.transferId);
      throw err;
    }
    const transfer = this.transferFor(header);
    if (transfer.bodies[header.index] !== undefined) {
      this.transfers.delete(header.transferId);
      throw new FrameError('DUPLICATE_FRAME', `frame ${header.index} arrived twice`, header.transferId, bytesToHex(header.hash));
    }
    transfer.bodies[header.index] = frame.slice(FRAME_HEADER_BYTES);
    transfer.received++;
    if (transfer.received < header.count) return null;
    this.transfers.delete(header.transferId);
    return join(transfer);
  }

  private transferFor(header: FrameHeader): Transfer {
    const open = this.transfers.get(header.transferId);
    if (open) {
      if (sameTransfer(open.header, header)) return open;
      this.transfers.delete(header.transferId);
      throw new FrameError('INCONSISTENT', `frame ${header.index}'s header disagrees with the transfer's first frame`, header.transferId, bytesToHex(header.hash));
    }
    if (this.transfers.size >= this.maxTransfers) {
      throw new FrameError('TOO_MANY_TRANSFERS', `already ${this.transfers.size} transfers open (limit ${this.maxTransfers})`, header.transferId, bytesToHex(header.hash));
    }
    // count ≤ cap / MIN_CHUNK, checked in readFrameHeader.
    const transfer: Transfer = { header, bodies: new Array<Uint8Array | undefined>(header.count), received: 0 };
    this.transfers.set(header.transferId, transfer);
    return transfer;
  }
}

function join(t: Transfer): Reassembled {
  const { header } = t;
  const bytes = new Uint8Array(header.total);
  t.bodies.forEach((body, i) => bytes.set(body!, i * header.chunk));
  const expected = bytesToHex(header.hash);
  const actual = bytesToHex(sha256(bytes));
  if (actual !== expected) {
    throw new FrameError('HASH_MISMATCH', `payload hashes to ${actual}, the sender claimed ${expected}`, header.transferId, expected);
  }
  return { transferId: header.transferId, kind: header.kind, hash: expected, bytes };
}
