import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  commitment,
  commitmentMessage,
  generateKeyPair,
  signCommitment,
  SIGNED_MESSAGE_BYTES,
  verifyCommitment,
  type CommitmentContext,
} from './commitment';
import { randomUpdate, testRunId } from './test-helpers';
import { encodeUpdate } from './update-codec';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function payload(): Uint8Array {
  return encodeUpdate(randomUpdate([[6, 8], [5]], 4, 2, true, 7), { chunk: 4, topk: 2, quantize1bit: true });
}

const seed = (n: number) => new Uint8Array(32).fill(n);

describe('commitment', () => {
  it('is SHA-256 (FIPS 180-2 "abc" vector)', () => {
    expect(hex(commitment(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('is stable for the same bytes and changes with any single bit of them', () => {
    const bytes = payload();
    const h = hex(commitment(bytes));
    expect(hex(commitment(bytes.slice()))).toBe(h);
    expect(hex(commitment(payload()))).toBe(h); // re-encoding is deterministic
    for (let i = 0; i < bytes.length; i++) {
      const changed = bytes.slice();
      changed[i] ^= 1 << (i % 8);
      expect(hex(commitment(changed)), `byte ${i}`).not.toBe(h);
    }
    expect(hex(commitment(bytes.subarray(0, bytes.length - 1)))).not.toBe(h);
  });
});

describe('commitment signature', () => {
  const ctx: CommitmentContext = { runId: testRunId(3), step: 77 };
  const alice = generateKeyPair(seed(1));
  const bob = generateKeyPair(seed(2));
  const hash = commitment(payload());
  const sig = signCommitment(hash, alice.secretKey, ctx);

  it('signs the documented domain-separated 70-byte message', () => {
    const msg = commitmentMessage(hash, ctx);
    expect(msg.length).toBe(SIGNED_MESSAGE_BYTES);
    expect(SIGNED_MESSAGE_BYTES).toBe(70);
    expect(new TextDecoder().decode(msg.subarray(0, 17))).toBe('tessera-update-v1');
    expect(msg[17]).toBe(0);
    expect(hex(msg.subarray(18, 34))).toBe(hex(ctx.runId));
    expect(hex(msg.subarray(34, 38))).toBe('4d000000');
    expect(hex(msg.subarray(38))).toBe(hex(hash));
    expect(ed25519.verify(sig, msg, alice.publicKey)).toBe(true);
  });

  it('verifies for the signer and this round', () => {
    expect(sig.length).toBe(64);
    expect(verifyCommitment(hash, sig, alice.publicKey, ctx)).toBe(true);
  });

  it('fails for another key, step, run or a flipped hash or signature bit', () => {
    expect(verifyCommitment(hash, sig, bob.publicKey, ctx)).toBe(false);
    expect(verifyCommitment(hash, sig, alice.publicKey, { ...ctx, step: 78 })).toBe(false);
    expect(verifyCommitment(hash, sig, alice.publicKey, { ...ctx, runId: testRunId(4) })).toBe(false);
    for (const bit of [0, 7, 100, 255]) {
      const h = hash.slice();
      h[bit >> 3] ^= 1 << (bit & 7);
      expect(verifyCommitment(h, sig, alice.publicKey, ctx), `hash bit ${bit}`).toBe(false);
      const s = sig.slice();
      s[bit >> 3] ^= 1 << (bit & 7);
      expect(verifyCommitment(hash, s, alice.publicKey, ctx), `signature bit ${bit}`).toBe(false);
    }
  });

  it('does not accept a signature over the bare hash (domain separation)', () => {
    const bare = ed25519.sign(hash, alice.secretKey);
    expect(verifyCommitment(hash, bare, alice.publicKey, ctx)).toBe(false);
  });

  it('answers false, without throwing, for malformed network inputs', () => {
    expect(verifyCommitment(hash, sig.subarray(0, 63), alice.publicKey, ctx)).toBe(false);
    expect(verifyCommitment(hash, sig, alice.publicKey.subarray(0, 31), ctx)).toBe(false);
    expect(verifyCommitment(hash.subarray(0, 31), sig, alice.publicKey, ctx)).toBe(false);
    expect(verifyCommitment(hash, sig, new Uint8Array(32).fill(0xff), ctx)).toBe(false);
    expect(verifyCommitment(hash, new Uint8Array(64).fill(0xff), alice.publicKey, ctx)).toBe(false);
    expect(verifyCommitment(hash, sig, alice.publicKey, { ...ctx, step: -1 })).toBe(false);
  });

  it('derives keys deterministically from a seed without taking over the seed buffer', () => {
    const s = seed(1);
    const again = generateKeyPair(s);
    expect(hex(again.publicKey)).toBe(hex(alice.publicKey));
    s.fill(9);
    expect(hex(again.secretKey)).toBe(hex(seed(1)));
    expect(hex(generateKeyPair().publicKey)).not.toBe(hex(generateKeyPair().publicKey));
    expect(() => signCommitment(hash.subarray(1), alice.secretKey, ctx)).toThrow(RangeError);
  });
});
