import { describe, expect, it } from 'vitest';
import { bitmapBytes, bitmapError, decodeBitmap, encodeBitmap } from './bitmap';

describe('witness bitmap', () => {
  it('is ⌈slots/8⌉ bytes', () => {
    expect([0, 1, 7, 8, 9, 16, 17].map(bitmapBytes)).toEqual([0, 1, 1, 1, 2, 2, 3]);
  });

  it('puts slot i in bit i%8 of byte ⌊i/8⌋ (LSB first)', () => {
    const held = Array.from({ length: 10 }, (_, i) => i === 0 || i === 3 || i === 9);
    // byte 0: bits 0 and 3 = 0x09; byte 1: bit 1 = 0x02
    expect(encodeBitmap(held)).toBe('0902');
    expect(decodeBitmap('0902', 10)).toEqual(held);
  });

  it('round-trips every pattern over 1..17 slots', () => {
    for (let slots = 1; slots <= 17; slots++) {
      for (let seed = 0; seed < 40; seed++) {
        const held = Array.from({ length: slots }, (_, i) => ((seed * 2654435761 + i * 40503) >>> 7) % 3 === 0);
        const hex = encodeBitmap(held);
        expect(bitmapError(hex, slots)).toBeNull();
        expect(decodeBitmap(hex, slots)).toEqual(held);
      }
    }
  });

  it('encodes zero slots as the empty string', () => {
    expect(encodeBitmap([])).toBe('');
    expect(bitmapError('', 0)).toBeNull();
  });

  it.each([
    ['0', 4, /must be 1 bytes/],
    ['0g', 4, /lowercase hex/],
    ['0F', 4, /lowercase hex/],
    ['0f0f', 4, /must be 1 bytes \(2 hex chars\) for 4 slots, got 4/],
    ['', 1, /must be 1 bytes/],
    ['10', 4, /padding bits beyond slot 3/],
    ['ff02', 9, /padding bits beyond slot 8/],
  ])('rejects %j over %i slots', (hex, slots, pattern) => {
    expect(bitmapError(hex, slots)).toMatch(pattern);
  });

  it('accepts the last slot of a partial byte', () => {
    expect(bitmapError('ff01', 9)).toBeNull();
    expect(decodeBitmap('ff01', 9)).toEqual(Array(9).fill(true));
  });

  it('rejects a non-string and refuses to decode a bad bitmap', () => {
    expect(bitmapError(7, 3)).toMatch(/hex string/);
    expect(() => decodeBitmap('ff', 3)).toThrow(/padding bits/);
  });
});
