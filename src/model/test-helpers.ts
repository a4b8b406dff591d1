/** Helpers shared by the model's tests (not used by the app). */

/** A file from a raw header object and data bytes, for shapes our encoder would never write. */
export function rawSafetensors(header: unknown, data: Uint8Array | number[] = [], headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** One random corruption: flip header bytes, truncate, append, or set the header length. */
export function mutate(good: Uint8Array, headerEnd: number, rand: () => number): Uint8Array {
  const kind = Math.floor(rand() * 4);
  if (kind === 0) {
    const bytes = good.slice();
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) {
      const i = Math.floor(rand() * headerEnd);
      bytes[i] = rand() < 0.5 ? bytes[i] ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
    }
    return bytes;
  }
  if (kind === 1) return good.slice(0, Math.floor(rand() * good.length));
  if (kind === 2) {
    const extra = Uint8Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256));
    const bytes = new Uint8Array(good.length + extra.length);
    bytes.set(good);
    bytes.set(extra, good.length);
    return bytes;
  }
  const bytes = good.slice();
  new DataView(bytes.buffer).setUint32(rand() < 0.8 ? 0 : 4, Math.floor(rand() * 2 ** 32), true);
  return bytes;
}
