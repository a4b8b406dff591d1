/**
 * Packs a kernel's uniform parameters in WGSL struct order. Every field is
 * 4 bytes (u32, i32 or f32), so the struct layout is just the field order;
 * the total is padded to 16 bytes as uniform buffers require.
 */
export class Params {
  private readonly words: { kind: 'u32' | 'i32' | 'f32'; value: number }[] = [];

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`u32 param out of range: ${value}`);
    this.words.push({ kind: 'u32', value });
    return this;
  }

  i32(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`i32 param out of range: ${value}`);
    this.words.push({ kind: 'i32', value });
    return this;
  }

  f32(value: number): this {
    this.words.push({ kind: 'f32', value });
    return this;
  }

  bytes(): ArrayBuffer {
    const n = Math.max(4, Math.ceil(this.words.length / 4) * 4);
    const buf = new ArrayBuffer(n * 4);
    const view = new DataView(buf);
    this.words.forEach((w, i) => {
      if (w.kind === 'u32') view.setUint32(i * 4, w.value, true);
      else if (w.kind === 'i32') view.setInt32(i * 4, w.value, true);
      else view.setFloat32(i * 4, w.value, true);
    });
    return buf;
  }
}

export function params(): Params {
  return new Params();
}
