import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../kernels/testing/random';
import type { ResumeRecord } from '../train/resume-store';
import { FileResumeStore } from './file-resume-store';

const RUN = '0123456789abcdef0123456789abcdef';
const OTHER_RUN = 'fedcba9876543210fedcba9876543210';
const MODEL = JSON.stringify({ model: { hidden_size: 64 }, optimizer: { topk: 8 }, seqLen: 32 });
const H1 = 'ab'.repeat(32);
const H2 = '0f'.repeat(32);

/** `n` random floats from their bits (any finite or infinite value, never NaN), with −0 and 0 among them. */
function randomFloats(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let b: number;
    do b = Math.floor(rand() * 2 ** 32) >>> 0;
    while ((b & 0x7f80_0000) === 0x7f80_0000 && (b & 0x007f_ffff) !== 0);
    bits[i] = b;
  }
  bits[0] = 0x8000_0000; // −0
  bits[1] = 0;
  bits[n - 1] = 0x0000_0001; // the smallest subnormal
  return new Float32Array(bits.buffer);
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function record(floats: number, over: Partial<ResumeRecord> = {}): ResumeRecord {
  return {
    runId: RUN,
    modelKey: MODEL,
    step: 17,
    checksum: '0123456789abcdef',
    prevChecksum: 'fedcba9876543210',
    lastHashes: [H1, H2],
    momentumStep: 16,
    params: randomFloats(floats, 1),
    momentum: randomFloats(floats, 2),
    ...over,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-resume-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('FileResumeStore', () => {
  it('has nothing before the first put', async () => {
    const store = await FileResumeStore.open(join(dir, 'resume'));
    expect(statSync(join(dir, 'resume')).isDirectory()).toBe(true);
    expect(store.path).toBe(join(dir, 'resume', 'resume.bin'));
    expect(await store.load(RUN, MODEL, 10)).toBeNull();
  });

  it('keeps one whole record when two puts overlap, and leaves no temporary file', async () => {
    const store = await FileResumeStore.open(dir);
    const [a, b] = [record(2000, { step: 5, momentumStep: 4 }), record(2000, { step: 6, momentumStep: 5, params: randomFloats(2000, 9) })];
    const settled = await Promise.allSettled([store.put(a), store.put(b)]);
    expect(settled.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled']);
    const back = (await store.load(RUN, MODEL, 2000)) as ResumeRecord;
    const winner = back.step === 5 ? a : b;
    expect(bitsOf(back.params)).toEqual(bitsOf(winner.params));
    expect(back.momentumStep).toBe(winner.momentumStep);
    expect(readdirSync(dir)).toEqual(['resume.bin']);
  });

  it('gives back every field and the exact bits of both buffers', async () => {
    const store = await FileResumeStore.open(dir);
    const r = record(1001);
    expect(bitsOf(r.params)[0]).toBe(0x8000_0000);
    await store.put(r);
    const back = await store.load(RUN, MODEL, 1001);
    expect(back).not.toBeNull();
    const { params, momentum, ...line } = back as ResumeRecord;
    const { params: p0, momentum: m0, ...line0 } = r;
    expect(line).toEqual(line0);
    expect(params).toBeInstanceOf(Float32Array);
    expect(momentum).toBeInstanceOf(Float32Array);
    expect(params.length).toBe(1001);
    expect(bitsOf(params)).toEqual(bitsOf(p0));
    expect(bitsOf(momentum)).toEqual(bitsOf(m0));
    expect(Object.is(params[0], -0)).toBe(true);
    // The two buffers are not swapped or shared.
    expect(bitsOf(params)).not.toEqual(bitsOf(momentum));
  });

  it('stores views into larger buffers by their own bytes only', async () => {
    const store = await FileResumeStore.open(dir);
    const bigP = randomFloats(50, 3);
    const bigM = randomFloats(50, 4);
    const r = record(7, { params: bigP.subarray(5, 12), momentum: bigM.subarray(40, 47), momentumStep: -1, lastHashes: [] });
    await store.put(r);
    const back = await store.load(RUN, MODEL, 7);
    expect(back).not.toBeNull();
    expect(bitsOf(back!.params)).toEqual(bitsOf(bigP.subarray(5, 12)));
    expect(bitsOf(back!.momentum)).toEqual(bitsOf(bigM.subarray(40, 47)));
    expect(back!.momentumStep).toBe(-1);
    expect(back!.lastHashes).toEqual([]);
  });

  it('gives nothing for another run, another model or another size', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const store = await FileResumeStore.open(dir);
    await store.put(record(1001));
    expect(await store.load(OTHER_RUN, MODEL, 1001)).toBeNull();
    expect(await store.load(RUN, `${MODEL} `, 1001)).toBeNull();
    expect(await store.load(RUN, MODEL, 1000)).toBeNull();
    expect(await store.load(RUN, MODEL, 1002)).toBeNull();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/belongs to run/),
      expect.stringMatching(/another model/),
      expect.stringMatching(/1000 floats/),
      expect.stringMatching(/1002 floats/),
    ]);
    // The record itself is still there for its own run and model.
    expect(await store.load(RUN, MODEL, 1001)).not.toBeNull();
  });

  it('refuses a stored record whose fields fail the checks', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const store = await FileResumeStore.open(dir);
    const bad: [Partial<ResumeRecord>, RegExp][] = [
      [{ step: 0 }, /step 0/],
      [{ momentumStep: 17 }, /momentum step 17/],
      [{ checksum: 'ABCDEF0123456789' }, /checksums/],
      [{ lastHashes: ['12'] }, /hashes/],
    ];
    for (const [over, why] of bad) {
      await store.put(record(5, over));
      expect(await store.load(RUN, MODEL, 5)).toBeNull();
      expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(why);
    }
  });

  it('replaces the previous record, and clear forgets it', async () => {
    const store = await FileResumeStore.open(dir);
    await store.put(record(64));
    const newer = record(64, { step: 18, momentumStep: 17, checksum: '1111111111111111', prevChecksum: '0123456789abcdef', lastHashes: [H2], params: randomFloats(64, 5), momentum: randomFloats(64, 6) });
    await store.put(newer);
    const back = await store.load(RUN, MODEL, 64);
    expect(back?.step).toBe(18);
    expect(back?.momentumStep).toBe(17);
    expect(back?.checksum).toBe('1111111111111111');
    expect(back?.lastHashes).toEqual([H2]);
    expect(bitsOf(back!.params)).toEqual(bitsOf(newer.params));
    expect(bitsOf(back!.momentum)).toEqual(bitsOf(newer.momentum));

    // A record of another size replaces it too.
    await store.put(record(3));
    expect(await store.load(RUN, MODEL, 3)).not.toBeNull();

    await store.clear();
    expect(await store.load(RUN, MODEL, 3)).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    await store.clear(); // clearing nothing is fine
  });

  it('is seen by another store opened on the same folder', async () => {
    await (await FileResumeStore.open(dir)).put(record(9));
    const back = await (await FileResumeStore.open(dir)).load(RUN, MODEL, 9);
    expect(back?.step).toBe(17);
  });

  it('ignores a truncated file, with a warning', async () => {
    const store = await FileResumeStore.open(dir);
    await store.put(record(1001));
    const size = statSync(store.path).size;
    truncateSync(store.path, size - 3);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await store.load(RUN, MODEL, 1001)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain(store.path);

    truncateSync(store.path, 2);
    expect(await store.load(RUN, MODEL, 1001)).toBeNull();
    expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(/shorter than its header/);

    truncateSync(store.path, 0);
    expect(await store.load(RUN, MODEL, 1001)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(3);
  });

  it('ignores a file with a garbage header, with a warning', async () => {
    const store = await FileResumeStore.open(dir);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // A header claiming far more field bytes than any record has.
    writeFileSync(store.path, Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4]));
    expect(await store.load(RUN, MODEL, 1)).toBeNull();
    expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(/header claims/);

    // A plausible length, the right total size, but the fields are not JSON.
    const meta = Buffer.from('not json!!!!', 'utf8'); // 12 bytes: 4 + 12 is already a multiple of 4
    const file = Buffer.alloc(4 + meta.length + 8 * 2);
    file.writeUInt32LE(meta.length, 0);
    meta.copy(file, 4);
    writeFileSync(store.path, file);
    expect(await store.load(RUN, MODEL, 2)).toBeNull();
    expect(String(warn.mock.calls.at(-1)?.[0])).toMatch(/not JSON/);

    // Text that is no record at all.
    writeFileSync(store.path, 'hello, this is not a resume record\n');
    expect(await store.load(RUN, MODEL, 2)).toBeNull();
    expect(warn).toHaveBeenCalledTimes(3);
  });

  it('leaves only resume.bin, readable by its owner only', async () => {
    const store = await FileResumeStore.open(dir);
    await store.put(record(1001));
    await store.put(record(1001, { step: 20 }));
    expect(readdirSync(dir)).toEqual(['resume.bin']);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    // The layout the header documents: a 4-byte length, the fields, padding to 4, then 2 × floats × 4 bytes.
    const bytes = readFileSync(store.path);
    const metaLength = bytes.readUInt32LE(0);
    expect(JSON.parse(bytes.subarray(4, 4 + metaLength).toString('utf8'))).toMatchObject({ runId: RUN, step: 20 });
    expect(bytes.length).toBe(Math.ceil((4 + metaLength) / 4) * 4 + 8 * 1001);
  });
});
