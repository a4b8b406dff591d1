import { describe, expect, it } from 'vitest';
import { ManifestError, dtypeForVocab, parseManifest, parseSourceInfo, type DataManifest } from './manifest';

const HASH = 'a'.repeat(64);

function valid(): DataManifest {
  return {
    version: 1,
    name: 'austen',
    tokenizer: 'byte',
    vocabSize: 256,
    dtype: 'uint16',
    endianness: 'little',
    eotToken: null,
    splitSeqLen: 256,
    splitBlockSequences: 16,
    valFraction: 0.05,
    totalTokens: 150,
    splits: {
      train: { file: 'austen.train.bin', tokens: 100, bytes: 200, sha256: HASH },
      val: { file: 'austen.val.bin', tokens: 50, bytes: 100, sha256: HASH },
    },
    source: { description: 'Jane Austen', license: 'Public domain' },
    inputs: [{ path: 'data/corpus/austen.txt', bytes: 150, sha256: HASH }],
  };
}

/** Applies `edit` to a fresh valid manifest and returns the parse error message. */
function rejection(edit: (m: Record<string, any>) => void): string {
  const m = structuredClone(valid()) as Record<string, any>;
  edit(m);
  try {
    parseManifest(m, 'test manifest');
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as Error).message;
  }
  throw new Error('manifest was accepted');
}

describe('parseManifest', () => {
  it('accepts a valid manifest unchanged', () => {
    expect(parseManifest(valid())).toEqual(valid());
  });

  it('names the source of the bad manifest', () => {
    expect(rejection((m) => (m.version = 2))).toMatch(/^invalid test manifest:/);
  });

  it('rejects each kind of bad field with its path', () => {
    expect(rejection((m) => (m.version = 2))).toMatch(/version/);
    expect(rejection((m) => (m.tokenizer = 'wordpiece'))).toMatch(/tokenizer/);
    expect(rejection((m) => (m.dtype = 'float32'))).toMatch(/dtype/);
    expect(rejection((m) => (m.endianness = 'big'))).toMatch(/endianness/);
    expect(rejection((m) => (m.splits.train.sha256 = 'xyz'))).toMatch(/64 lowercase hex[\s\S]*at splits\.train\.sha256/);
    expect(rejection((m) => (m.splits.val.tokens = -1))).toMatch(/splits\.val\.tokens/);
    expect(rejection((m) => delete m.source)).toMatch(/source/);
    expect(rejection((m) => (m.source.license = ''))).toMatch(/source\.license/);
    expect(rejection((m) => (m.inputs = []))).toMatch(/inputs/);
  });

  it('rejects shard names that could escape the data directory', () => {
    expect(rejection((m) => (m.splits.train.file = '../secret.bin'))).toMatch(/no slashes[\s\S]*at splits\.train\.file/);
    expect(rejection((m) => (m.splits.train.file = 'a..b.bin'))).toMatch(/must not contain/);
    expect(rejection((m) => (m.splits.train.file = 'train.txt'))).toMatch(/\.bin/);
  });

  it('rejects a dtype too wide or too narrow for the vocabulary', () => {
    expect(rejection((m) => (m.dtype = 'uint32'))).toMatch(/vocab size 256 must be stored as uint16, not uint32/);
    expect(rejection((m) => (m.vocabSize = 70_000))).toMatch(/must be stored as uint32/);
  });

  it('rejects sizes that disagree with each other', () => {
    expect(rejection((m) => (m.splits.train.bytes = 201))).toMatch(/take 200 bytes, not 201[\s\S]*at splits\.train\.bytes/);
    expect(rejection((m) => (m.totalTokens = 151))).toMatch(/totalTokens/);
    expect(rejection((m) => (m.splits.val.file = 'austen.train.bin'))).toMatch(/different files/);
    expect(rejection((m) => (m.eotToken = 256))).toMatch(/below vocabSize 256[\s\S]*at eotToken/);
  });

  it('rejects non-objects', () => {
    expect(() => parseManifest(null)).toThrow(ManifestError);
    expect(() => parseManifest('{}')).toThrow(ManifestError);
  });
});

describe('parseSourceInfo', () => {
  it('requires a description and a licence', () => {
    expect(parseSourceInfo({ description: 'd', license: 'MIT' })).toEqual({ description: 'd', license: 'MIT' });
    expect(() => parseSourceInfo({ description: 'd' }, 'x.source.json')).toThrow(/invalid x\.source\.json[\s\S]*license/);
  });
});

describe('dtypeForVocab', () => {
  it('picks uint16 up to 65536 ids and uint32 above', () => {
    expect(dtypeForVocab(256)).toBe('uint16');
    expect(dtypeForVocab(50257)).toBe('uint16');
    expect(dtypeForVocab(65536)).toBe('uint16');
    expect(dtypeForVocab(65537)).toBe('uint32');
    expect(() => dtypeForVocab(0)).toThrow(RangeError);
  });
});
