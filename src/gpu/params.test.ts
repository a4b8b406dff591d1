import { describe, expect, it } from 'vitest';
import { params } from './params';

describe('params', () => {
  it('packs u32, i32 and f32 fields in order, padded to 16 bytes', () => {
    const bytes = params().u32(7).i32(-3).f32(0.5).u32(0xffffffff).f32(1e-6).bytes();
    expect(bytes.byteLength).toBe(32);
    const view = new DataView(bytes);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getInt32(4, true)).toBe(-3);
    expect(view.getFloat32(8, true)).toBe(0.5);
    expect(view.getUint32(12, true)).toBe(0xffffffff);
    expect(view.getFloat32(16, true)).toBe(Math.fround(1e-6));
    expect(view.getUint32(20, true)).toBe(0);
  });

  it('rejects integers a u32 or i32 cannot hold', () => {
    expect(() => params().u32(-1)).toThrow(RangeError);
    expect(() => params().u32(1.5)).toThrow(RangeError);
    expect(() => params().u32(2 ** 32)).toThrow(RangeError);
    expect(() => params().i32(2 ** 31)).toThrow(RangeError);
  });
});
