import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../protocol/commitment';
import { signAuth, verifyAuth } from './auth-signature';
import { signWitness, verifyWitness, witnessMessage } from './witness-signature';

const runId = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const challenge = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const keys = generateKeyPair(new Uint8Array(32).fill(7));
const other = generateKeyPair(new Uint8Array(32).fill(8));

describe('auth signature', () => {
  it('verifies only for the same run, challenge and key', () => {
    const sig = signAuth(runId, challenge, keys.secretKey);
    expect(verifyAuth(runId, challenge, sig, keys.publicKey)).toBe(true);
    expect(verifyAuth(runId, challenge.map((b, i) => (i === 0 ? b ^ 1 : b)), sig, keys.publicKey)).toBe(false);
    expect(verifyAuth(runId.map((b, i) => (i === 15 ? b ^ 1 : b)), challenge, sig, keys.publicKey)).toBe(false);
    expect(verifyAuth(runId, challenge, sig, other.publicKey)).toBe(false);
    expect(verifyAuth(runId, challenge, sig.slice(1), keys.publicKey)).toBe(false);
  });
});

describe('witness signature', () => {
  const w = { runId, step: 42, held: Uint8Array.from([0b101]), checksum: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), scores: [{ slot: 2, score: -7 }] };

  it('lays out tag, 0, run id, step LE, held length and bits, checksum, score count and scores', () => {
    const m = witnessMessage(w);
    expect(new TextDecoder().decode(m.subarray(0, 18))).toBe('tessera-witness-v2');
    expect(m[18]).toBe(0);
    expect([...m.subarray(19, 35)]).toEqual([...runId]);
    expect([...m.subarray(35, 39)]).toEqual([42, 0, 0, 0]);
    expect([...m.subarray(39, 42)]).toEqual([1, 0, 0b101]);
    expect([...m.subarray(42, 50)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...m.subarray(50)]).toEqual([1, 0, 2, 0, 0xf9, 0xff]);
  });

  it('refuses scores that are not integer per-mille on u16 slots', () => {
    expect(() => witnessMessage({ ...w, scores: [{ slot: 0, score: 1001 }] })).toThrow(/per-mille/);
    expect(() => witnessMessage({ ...w, scores: [{ slot: 0, score: 0.5 }] })).toThrow(/per-mille/);
    expect(() => witnessMessage({ ...w, scores: [{ slot: 70_000, score: 0 }] })).toThrow(/u16/);
  });

  it('verifies only the signed report', () => {
    const sig = signWitness(w, keys.secretKey);
    expect(verifyWitness(w, sig, keys.publicKey)).toBe(true);
    expect(verifyWitness({ ...w, step: 43 }, sig, keys.publicKey)).toBe(false);
    expect(verifyWitness({ ...w, held: Uint8Array.from([0b111]) }, sig, keys.publicKey)).toBe(false);
    expect(verifyWitness({ ...w, checksum: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 9]) }, sig, keys.publicKey)).toBe(false);
    expect(verifyWitness({ ...w, scores: [{ slot: 2, score: 7 }] }, sig, keys.publicKey)).toBe(false);
    expect(verifyWitness({ ...w, scores: [] }, sig, keys.publicKey)).toBe(false);
    expect(verifyWitness(w, sig, other.publicKey)).toBe(false);
    expect(verifyWitness({ ...w, checksum: new Uint8Array(3) }, sig, keys.publicKey)).toBe(false);
  });
});
