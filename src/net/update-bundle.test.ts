import { describe, expect, it } from 'vitest';
import { decodeUpdateBundle, encodeUpdateBundle, UpdateBundleError } from './update-bundle';

const rounds = [
  { step: 4, epoch: 0, lrBits: 0x3c23d70a, checksum: '0123456789abcdef', slots: [0, 2], clients: ['a'.repeat(64), 'c'.repeat(64)], hashes: ['1'.repeat(64), '2'.repeat(64)], payloads: [Uint8Array.from([1, 2, 3]), Uint8Array.from([4])] },
  { step: 5, epoch: 0, lrBits: 0x3c23d70a, checksum: null, slots: [], clients: [], hashes: [], payloads: [] },
];

describe('update bundle', () => {
  it('round-trips rounds with their payloads; toStep is one past the last round', () => {
    const decoded = decodeUpdateBundle(encodeUpdateBundle(4, rounds));
    expect(decoded.fromStep).toBe(4);
    expect(decoded.toStep).toBe(6);
    expect(decoded.rounds).toEqual(rounds);
    expect(decodeUpdateBundle(encodeUpdateBundle(9, []))).toEqual({ fromStep: 9, toStep: 9, rounds: [] });
  });

  it('refuses truncated, padded and inconsistent bundles', () => {
    const good = encodeUpdateBundle(4, rounds);
    expect(() => decodeUpdateBundle(good.slice(0, good.length - 1))).toThrow(UpdateBundleError);
    expect(() => decodeUpdateBundle(Uint8Array.from([...good, 0]))).toThrow(/after the last payload/);
    expect(() => decodeUpdateBundle(good.slice(0, 3))).toThrow(UpdateBundleError);
    const lying = good.slice();
    new DataView(lying.buffer).setUint32(0, good.length, true);
    expect(() => decodeUpdateBundle(lying)).toThrow(/runs past/);
    const mismatched = encodeUpdateBundle(4, [{ ...rounds[0], slots: [0] }]);
    expect(() => decodeUpdateBundle(mismatched)).toThrow(/one entry each/);
    const badChecksum = encodeUpdateBundle(4, [{ ...rounds[0], checksum: 'not hex' }]);
    expect(() => decodeUpdateBundle(badChecksum)).toThrow(UpdateBundleError);
  });
});
