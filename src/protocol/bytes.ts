/**
 * Little-endian cursor reader/writer for the update wire format.
 *
 * The reader never trusts a length: every read first checks that the bytes
 * are actually there, and callers ask `require()` before allocating an array
 * sized from a header field, so a hostile header cannot make us allocate more
 * than the payload itself could fill.
 */

/** Raised by the reader when a field runs past the end of the input. */
export type TruncatedHandler = (field: string, needed: number, available: number, offset: number) => never;

export class ByteReader {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly onTruncated: TruncatedHandler,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws (via the handler) unless `n` more bytes exist; `n` may be any size derived from an untrusted header. */
  require(n: number, field: string): void {
    if (!(n <= this.remaining)) this.onTruncated(field, n, this.remaining, this.pos);
  }

  u8(field: string): number {
    this.require(1, field);
    return this.view.getUint8(this.pos++);
  }

  u16(field: string): number {
    this.require(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.require(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** u64 as (lo, hi) halves so the caller can range-check before forming a Number. */
  u64Parts(field: string): { lo: number; hi: number } {
    this.require(8, field);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return { lo, hi };
  }

  f32(field: string): number {
    this.require(4, field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A copy, so the decoded update does not alias (and pin) the input buffer. */
  bytesCopy(n: number, field: string): Uint8Array {
    this.require(n, field);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  get offset(): number {
    return this.pos;
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** `v` must be a safe non-negative integer (the encoder checks). */
  u64(v: number): void {
    this.u32(v % 0x1_0000_0000);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }

  f32(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  raw(src: Uint8Array): void {
    this.bytes.set(src, this.pos);
    this.pos += src.length;
  }
}
