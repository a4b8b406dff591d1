/**
 * LSB-first bit streams for the update wire format: bit i of the stream is
 * bit (i mod 8) of byte ⌊i/8⌋, and a w-bit field stores its value's bits
 * from least to most significant. Widths are 0–32; a 0-bit field holds the
 * only index a 1-element block has.
 */

export class BitWriter {
  private bit = 0;

  constructor(readonly bytes: Uint8Array) {}

  write(value: number, width: number): void {
    for (let i = 0; i < width; i++, this.bit++) {
      if ((value >>> i) & 1) this.bytes[this.bit >> 3] |= 1 << (this.bit & 7);
    }
  }

  /** Bits written so far. */
  get length(): number {
    return this.bit;
  }
}

export class BitReader {
  private bit = 0;

  /** The caller has checked that `bytes` holds every bit it will read. */
  constructor(private readonly bytes: Uint8Array) {}

  read(width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++, this.bit++) {
      value |= ((this.bytes[this.bit >> 3] >> (this.bit & 7)) & 1) << i;
    }
    return value >>> 0;
  }

  get position(): number {
    return this.bit;
  }
}

/** Bytes that hold `bits` bits. */
export function bytesForBits(bits: number): number {
  return Math.ceil(bits / 8);
}
