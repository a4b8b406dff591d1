import { describe, expect, it } from 'vitest';
import {
  decodeShard,
  encodeShard,
  isValBlock,
  joinTrainVal,
  sha256Hex,
  splitTrainVal,
  tokenizeDocuments,
} from './shards';
import { buildDataset } from './stream-build';
import { byteTokenizer, gpt2Tokenizer } from './tokenizers';

const source = { description: 'test text', license: 'CC0' };

describe('encodeShard / decodeShard', () => {
  it('stores uint16 little-endian', () => {
    expect(Array.from(encodeShard([0x0102, 0xfffe], 'uint16'))).toEqual([0x02, 0x01, 0xfe, 0xff]);
  });

  it('stores uint32 little-endian', () => {
    expect(Array.from(encodeShard([0x01020304], 'uint32'))).toEqual([0x04, 0x03, 0x02, 0x01]);
  });

  it('round-trips boundary values of both widths', () => {
    const u16 = [0, 1, 255, 256, 50256, 65535];
    expect(Array.from(decodeShard(encodeShard(u16, 'uint16'), 'uint16'))).toEqual(u16);
    const u32 = [0, 65536, 100_000, 0xffffffff];
    expect(Array.from(decodeShard(encodeShard(u32, 'uint32'), 'uint32'))).toEqual(u32);
  });

  it('decodes a view into a larger buffer at an offset', () => {
    const backing = new Uint8Array([9, 9, 9, 0x34, 0x12, 9]);
    expect(Array.from(decodeShard(backing.subarray(3, 5), 'uint16'))).toEqual([0x1234]);
  });

  it('rejects tokens that do not fit', () => {
    expect(() => encodeShard([65536], 'uint16')).toThrow(/65536 at position 0/);
    expect(() => encodeShard([256], 'uint16', 256)).toThrow(RangeError);
    expect(() => encodeShard([-1], 'uint32')).toThrow(RangeError);
    expect(() => encodeShard([2.5], 'uint32')).toThrow(RangeError);
  });

  it('rejects a byte count that is not whole tokens', () => {
    expect(() => decodeShard(new Uint8Array(3), 'uint16')).toThrow(/not a whole number/);
    expect(() => decodeShard(new Uint8Array(6), 'uint32')).toThrow(/not a whole number/);
  });
});

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 "abc" test vector', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('train/val split', () => {
  it('puts the requested share of blocks in val, spread out, first block in train', () => {
    const val = Array.from({ length: 1000 }, (_, b) => b).filter((b) => isValBlock(b, 0.05));
    expect(val.length).toBe(50);
    expect(val[0]).toBe(19);
    expect(val[1] - val[0]).toBe(20);
    expect(isValBlock(0, 0.3)).toBe(false);
    expect(Array.from({ length: 10 }, (_, b) => b).filter((b) => isValBlock(b, 0.3)).length).toBe(3);
  });

  it('cuts only at block boundaries and joins back to the original', () => {
    const opts = { seqLen: 3, blockSequences: 2, valFraction: 0.25 }; // blocks of 8 tokens
    const tokens = Uint32Array.from({ length: 70 }, (_, i) => i);
    const { train, val } = splitTrainVal(tokens, opts);
    // Blocks 3 and 7 (tokens 24..31 and 56..63) go to val.
    expect(Array.from(val)).toEqual([...range(24, 32), ...range(56, 64)]);
    expect(train.length).toBe(54);
    expect(Array.from(joinTrainVal(train, val, opts))).toEqual(Array.from(tokens));
  });

  it('keeps everything in train when valFraction is 0', () => {
    const { train, val } = splitTrainVal([1, 2, 3], { seqLen: 1, blockSequences: 1, valFraction: 0 });
    expect(Array.from(train)).toEqual([1, 2, 3]);
    expect(val.length).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => splitTrainVal([1], { seqLen: 0, blockSequences: 1, valFraction: 0 })).toThrow(/seqLen/);
    expect(() => splitTrainVal([1], { seqLen: 1, blockSequences: 1, valFraction: 1 })).toThrow(/valFraction/);
    expect(() => joinTrainVal([1, 2, 3], [], { seqLen: 1, blockSequences: 1, valFraction: 0.5 })).toThrow(/do not match/);
  });
});

describe('tokenizeDocuments', () => {
  it('ends each document with EOT when the tokenizer has one', () => {
    const docs = [
      { path: 'a.txt', text: 'Hello world' },
      { path: 'b.txt', text: 'Hello' },
    ];
    expect(Array.from(tokenizeDocuments(docs, gpt2Tokenizer))).toEqual([15496, 995, 50256, 15496, 50256]);
    expect(Array.from(tokenizeDocuments(docs, byteTokenizer))).toEqual(byteTokenizer.encode('Hello worldHello'));
  });
});

describe('buildDataset', () => {
  const docs = [{ path: 'corpus/x.txt', text: 'It is a truth universally acknowledged. '.repeat(20) }];
  const opts = { name: 'x', source, seqLen: 7, blockSequences: 2, valFraction: 0.2 };

  it('writes shards the manifest describes exactly', async () => {
    const { manifest, files } = await buildDataset(docs, byteTokenizer, opts);
    expect(manifest.dtype).toBe('uint16');
    expect(manifest.splits.train.file).toBe('x.train.bin');
    expect(manifest.totalTokens).toBe(800);
    expect(manifest.inputs[0]).toMatchObject({ path: 'corpus/x.txt', bytes: 800 });
    for (const split of ['train', 'val'] as const) {
      const info = manifest.splits[split];
      const bytes = files.get(info.file)!;
      expect(bytes.byteLength).toBe(info.bytes);
      expect(await sha256Hex(bytes)).toBe(info.sha256);
    }
    const train = decodeShard(files.get('x.train.bin')!, 'uint16');
    const val = decodeShard(files.get('x.val.bin')!, 'uint16');
    expect(val.length).toBe(160); // 50 blocks of 16 tokens, every 5th to val
    expect(byteTokenizer.decode(joinTrainVal(train, val, opts))).toBe(docs[0].text);
  });

  it('is deterministic', async () => {
    const a = await buildDataset(docs, gpt2Tokenizer, opts);
    const b = await buildDataset(docs, gpt2Tokenizer, opts);
    expect(JSON.stringify(a.manifest)).toBe(JSON.stringify(b.manifest));
    expect(a.manifest.eotToken).toBe(50256);
    expect(a.manifest.vocabSize).toBe(50257);
  });

  it('refuses an empty input', async () => {
    await expect(buildDataset([], byteTokenizer, opts)).rejects.toThrow(/no input documents/);
  });
});

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
