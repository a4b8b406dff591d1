import { mulberry32 } from '../kernels/testing/random';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME,
  FRAME_HEADER_BYTES,
  FrameError,
  type FrameErrorCode,
  MIN_CHUNK,
  Reassembler,
  encodeFrames,
  frameCount,
} from './frames';


function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

function framesOf(payload: Uint8Array, transferId = 7, maxFrame = DEFAULT_MAX_FRAME, hash = sha256(payload)): Uint8Array[] {
  return [...encodeFrames({ payload, hash, transferId, maxFrame })];
}

/** Feeds frames in order; returns every completed payload. */
function feed(r: Reassembler, frames: Uint8Array[]) {
  return frames.map((f) => r.push(f)).filter((x) => x !== null);
}

function codeOf(fn: () => unknown): FrameErrorCode | 'no error' {
  try {
    fn();
  } catch (err) {
    if (err instanceof FrameError) return err.code;
    throw err;
  }
  return 'no error';
}

/** Byte equality without vitest's element-by-element diffing, which is slow on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function setU32(frame: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = frame.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe('encodeFrames', () => {
  it('makes ⌈n / chunk⌉ frames of at most maxFrame bytes whose bodies are the payload', () => {
    const chunk = DEFAULT_MAX_FRAME - FRAME_HEADER_BYTES;
    for (const n of [1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5]) {
      const payload = randomBytes(mulberry32(n), n);
      const frames = framesOf(payload);
      expect(frames.length).toBe(Math.ceil(n / chunk));
      expect(frames.length).toBe(frameCount(n));
      for (const f of frames) expect(f.length).toBeLessThanOrEqual(DEFAULT_MAX_FRAME);
      const joined = new Uint8Array(frames.reduce((s, f) => s + f.length - FRAME_HEADER_BYTES, 0));
      let at = 0;
      for (const f of frames) {
        joined.set(f.subarray(FRAME_HEADER_BYTES), at);
        at += f.length - FRAME_HEADER_BYTES;
      }
      expect(sameBytes(joined, payload)).toBe(true);
    }
  });

  it('starts every frame with the magic "TSFR" and version 1', () => {
    const [f] = framesOf(new Uint8Array([1, 2, 3]));
    expect(new TextDecoder().decode(f.subarray(0, 4))).toBe('TSFR');
    expect(f[4]).toBe(1);
    expect(f.subarray(28, 60)).toEqual(sha256(new Uint8Array([1, 2, 3])));
  });

  it('rejects bad arguments before making any frame', () => {
    const hash = new Uint8Array(32);
    const p = new Uint8Array(10);
    expect(codeOf(() => encodeFrames({ payload: new Uint8Array(0), hash, transferId: 1 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodeFrames({ payload: p, hash: new Uint8Array(31), transferId: 1 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodeFrames({ payload: p, hash, transferId: -1 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodeFrames({ payload: p, hash, transferId: 2 ** 32 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodeFrames({ payload: p, hash, transferId: 1, maxFrame: FRAME_HEADER_BYTES + MIN_CHUNK - 1 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => encodeFrames({ payload: p, hash, transferId: 1, kind: 9 as 1 }))).toBe('BAD_ARGUMENT');
  });
});

describe('Reassembler', () => {
  const rand = mulberry32(1);
  const payload = randomBytes(rand, 5 * 1024 + 17);
  const small = 1024 + FRAME_HEADER_BYTES; // 6 frames for `payload`
  const frames = framesOf(payload, 7, small);

  it('reassembles a payload in order and returns its checked hash', () => {
    const r = new Reassembler();
    const out = feed(r, frames);
    expect(out).toHaveLength(1);
    expect(out[0].bytes).toEqual(payload);
    expect(out[0].hash).toBe(bytesToHex(sha256(payload)));
    expect(out[0].transferId).toBe(7);
    expect(r.pending).toBe(0);
  });

  it('reassembles frames in any order, and interleaved transfers', () => {
    const other = randomBytes(rand, 3000);
    const otherFrames = framesOf(other, 8, small);
    const mixed = [...frames].reverse().flatMap((f, i) => (otherFrames[i] ? [f, otherFrames[i]] : [f]));
    const out = feed(new Reassembler(), mixed);
    expect(out.map((o) => o.transferId).sort()).toEqual([7, 8]);
    expect(out.find((o) => o.transferId === 7)!.bytes).toEqual(payload);
    expect(out.find((o) => o.transferId === 8)!.bytes).toEqual(other);
  });

  it('accepts a transfer id again once its transfer finished', () => {
    const r = new Reassembler();
    expect(feed(r, frames)).toHaveLength(1);
    expect(feed(r, frames)).toHaveLength(1);
  });

  it('names each header fault with its own code', () => {
    const f = frames[2];
    const r = () => new Reassembler({ maxTotalBytes: 1 << 20 });
    expect(codeOf(() => r().push(f.subarray(0, 59)))).toBe('TOO_SHORT');
    expect(codeOf(() => r().push(setU32(f, 0, 0x12345678)))).toBe('BAD_MAGIC');
    const v2 = f.slice();
    v2[4] = 2;
    expect(codeOf(() => r().push(v2))).toBe('BAD_VERSION');
    const k = f.slice();
    k[5] = 200;
    expect(codeOf(() => r().push(k))).toBe('BAD_KIND');
    const res = f.slice();
    res[7] = 1;
    expect(codeOf(() => r().push(res))).toBe('BAD_RESERVED');
    expect(codeOf(() => r().push(setU32(f, 20, 0xffffffff)))).toBe('TOO_LARGE');
    expect(codeOf(() => r().push(setU32(f, 20, 0)))).toBe('BAD_TOTAL');
    expect(codeOf(() => r().push(setU32(f, 24, MIN_CHUNK - 1)))).toBe('BAD_CHUNK');
    expect(codeOf(() => r().push(setU32(f, 16, frames.length + 1)))).toBe('BAD_COUNT');
    expect(codeOf(() => r().push(setU32(f, 12, frames.length)))).toBe('BAD_INDEX');
    expect(codeOf(() => r().push(f.subarray(0, f.length - 1)))).toBe('BAD_LENGTH');
    expect(codeOf(() => new Reassembler({ maxFrameBytes: small - 1 + 64 }).push(new Uint8Array(small + 64)))).toBe('FRAME_TOO_LARGE');
  });

  it('rejects an oversize total from the header alone, before any allocation, even at u32 max', () => {
    const r = new Reassembler({ maxTotalBytes: 4096 });
    const err = (() => {
      try {
        r.push(frames[0]);
      } catch (e) {
        return e as FrameError;
      }
    })();
    expect(err).toBeInstanceOf(FrameError);
    expect(err!.code).toBe('TOO_LARGE');
    expect(err!.transferId).toBe(7);
    expect(r.pending).toBe(0);
  });

  it('discards a transfer on a duplicate or inconsistent frame, and keeps the others', () => {
    const r = new Reassembler();
    const other = framesOf(randomBytes(rand, 2500), 9, small);
    r.push(other[0]);
    r.push(frames[0]);
    expect(codeOf(() => r.push(frames[0]))).toBe('DUPLICATE_FRAME');
    expect(r.pending).toBe(1);
    r.push(frames[0]);
    const changedHash = frames[1].slice();
    changedHash[40] ^= 1;
    expect(codeOf(() => r.push(changedHash))).toBe('INCONSISTENT');
    expect(feed(r, other.slice(1))[0].transferId).toBe(9);
    expect(r.pending).toBe(0);
  });

  it('limits the transfers open at once', () => {
    const r = new Reassembler({ maxTransfers: 2 });
    r.push(framesOf(payload, 1, small)[0]);
    r.push(framesOf(payload, 2, small)[0]);
    expect(codeOf(() => r.push(framesOf(payload, 3, small)[0]))).toBe('TOO_MANY_TRANSFERS');
    r.clear();
    expect(r.push(framesOf(payload, 3, small)[0])).toBeNull();
  });

  it('throws HASH_MISMATCH when the bytes do not hash to the header hash', () => {
    const wrong = framesOf(payload, 5, small, sha256(new Uint8Array([1])));
    const r = new Reassembler();
    feed(r, wrong.slice(0, -1));
    let err: unknown;
    try {
      r.push(wrong[wrong.length - 1]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe('HASH_MISMATCH');
    expect((err as FrameError).hash).toBe(bytesToHex(sha256(new Uint8Array([1]))));
    expect(r.pending).toBe(0);
  });

  it('reassembles 1 MiB sent in default-size frames', () => {
    const big = randomBytes(mulberry32(3), 1 << 20);
    const out = feed(new Reassembler(), framesOf(big, 1));
    expect(sameBytes(out[0].bytes, big)).toBe(true);
  });
});

describe('Reassembler fuzz', () => {
  /** `legit` collects payloads a mutation injects whole and valid: reassembling those is correct too. */
  type Mutation = (frames: Uint8Array[], rand: () => number, legit: Map<string, Uint8Array>) => Uint8Array[];
  const pick = <T,>(rand: () => number, xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const at = (rand: () => number, frames: Uint8Array[]) => Math.floor(rand() * frames.length);
  const edgeU32 = (rand: () => number) => pick(rand, [0, 1, 2, 1023, 1024, 4096, 65535, 0x7fffffff, 0xffffffff, (rand() * 2 ** 32) >>> 0]);

  const mutations: Mutation[] = [
    (fs, rand) => {
      const i = at(rand, fs);
      const f = fs[i].slice();
      const bit = Math.floor(rand() * f.length * 8);
      f[bit >> 3] ^= 1 << (bit & 7);
      return fs.map((x, j) => (j === i ? f : x));
    },
    (fs, rand) => {
      // a bit flip inside the header, where most checks live
      const i = at(rand, fs);
      const f = fs[i].slice();
      const bit = Math.floor(rand() * FRAME_HEADER_BYTES * 8);
      f[bit >> 3] ^= 1 << (bit & 7);
      return fs.map((x, j) => (j === i ? f : x));
    },
    (fs, rand) => {
      const i = at(rand, fs);
      const field = pick(rand, [8, 12, 16, 20, 24]);
      return fs.map((x, j) => (j === i && x.length >= FRAME_HEADER_BYTES ? setU32(x, field, edgeU32(rand)) : x));
    },
    (fs, rand) => {
      const i = at(rand, fs);
      return fs.map((x, j) => (j === i ? x.subarray(0, Math.floor(rand() * x.length)) : x));
    },
    (fs, rand) => {
      const i = at(rand, fs);
      const extra = randomBytes(rand, 1 + Math.floor(rand() * 40));
      return fs.map((x, j) => (j === i ? Uint8Array.from([...x, ...extra]) : x));
    },
    (fs, rand) => {
      const i = at(rand, fs);
      return [...fs.slice(0, i + 1), fs[i], ...fs.slice(i + 1)];
    },
    (fs, rand) => {
      const i = at(rand, fs);
      return fs.filter((_, j) => j !== i);
    },
    (fs, rand) => {
      const out = [...fs];
      const i = at(rand, fs);
      const j = at(rand, fs);
      [out[i], out[j]] = [out[j], out[i]];
      return out;
    },
    (fs, rand) => {
      const i = at(rand, fs);
      return fs.map((x, j) => (j === i ? randomBytes(rand, Math.floor(rand() * 200)) : x));
    },
    (fs, rand, legit) => {
      // a frame from a different payload under the same transfer id
      const otherPayload = randomBytes(rand, 1 + Math.floor(rand() * 4000));
      legit.set(bytesToHex(sha256(otherPayload)), otherPayload);
      const other = framesOf(otherPayload, 11, 1024 + FRAME_HEADER_BYTES);
      const i = at(rand, fs);
      return fs.map((x, j) => (j === i ? pick(rand, other) : x));
    },
  ];

  it('every mutated stream yields a payload that was framed whole, nothing, or a FrameError, never another exception', () => {
    const rand = mulberry32(20240601);
    const seen = new Map<string, number>();
    const bump = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);
    let framesFed = 0;
    for (let run = 0; run < 3000; run++) {
      const payload = randomBytes(rand, 1 + Math.floor(rand() * 6000));
      const hash = bytesToHex(sha256(payload));
      const maxFrame = 1024 + FRAME_HEADER_BYTES + Math.floor(rand() * 700);
      let frames = framesOf(payload, 11, maxFrame);
      const legit = new Map([[hash, payload]]);
      const rounds = 1 + Math.floor(rand() * 3);
      for (let m = 0; m < rounds && frames.length > 0; m++) frames = pick(rand, mutations)(frames, rand, legit);
      const r = new Reassembler({ maxTotalBytes: 5000, maxFrameBytes: 2048, maxTransfers: 2 });
      for (const f of frames) {
        framesFed++;
        try {
          const out = r.push(f);
          if (out) {
            const expected = legit.get(out.hash);
            expect(expected, 'a payload nobody framed').toBeDefined();
            expect(sameBytes(out.bytes, expected!)).toBe(true);
            bump(out.hash === hash ? 'complete' : 'complete-injected');
          }
        } catch (err) {
          if (!(err instanceof FrameError)) throw err;
          bump(err.code);
        }
      }
    }
    expect(framesFed).toBeGreaterThan(5000);
    // The fuzz reached both outcomes and most of the checks.
    expect(seen.get('complete')).toBeGreaterThan(100);
    for (const code of ['TOO_SHORT', 'BAD_MAGIC', 'BAD_LENGTH', 'BAD_COUNT', 'BAD_INDEX', 'TOO_LARGE', 'DUPLICATE_FRAME', 'INCONSISTENT', 'HASH_MISMATCH']) {
      expect(seen.get(code), code).toBeGreaterThan(0);
    }
  });

  it('random garbage never throws anything but FrameError', () => {
    const rand = mulberry32(7);
    const r = new Reassembler();
    let codes = 0;
    for (let i = 0; i < 3000; i++) {
      const f = randomBytes(rand, Math.floor(rand() * 300));
      // Half of them get a valid magic and version so the deeper checks run.
      if (rand() < 0.5 && f.length >= 5) f.set([0x54, 0x53, 0x46, 0x52, 1], 0);
      expect(codeOf(() => r.push(f))).not.toBe('no error');
      codes++;
    }
    expect(codes).toBe(3000);
  });
});
