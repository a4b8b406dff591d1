/**
 * The manifest that describes one pre-tokenized dataset: which tokenizer made
 * it, how tokens are stored, and where each split's shard lives. It is the
 * only thing a browser trusts before fetching shard bytes, so every field a
 * reader relies on (sizes, dtype, hashes, file names) is checked here.
 */
import { z } from 'zod';

export const MANIFEST_VERSION = 1;

export const TOKENIZER_NAMES = ['byte', 'gpt2'] as const;
export type TokenizerName = (typeof TOKENIZER_NAMES)[number];

export const DTYPES = ['uint16', 'uint32'] as const;
export type TokenDtype = (typeof DTYPES)[number];

export const SPLITS = ['train', 'val'] as const;
export type SplitName = (typeof SPLITS)[number];

export function bytesPerToken(dtype: TokenDtype): 2 | 4 {
  return dtype === 'uint16' ? 2 : 4;
}

/** The narrowest dtype that can hold every id of a vocabulary. */
export function dtypeForVocab(vocabSize: number): TokenDtype {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new RangeError(`vocab size must be a positive integer, got ${vocabSize}`);
  }
  return vocabSize <= 0x10000 ? 'uint16' : 'uint32';
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256)');

// Shard names are joined onto a base URL or directory: forbidding slashes and
// dot-dot keeps a hostile manifest from pointing the reader elsewhere.
const shardFileName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.bin$/, 'must be a plain file name ending in .bin (no slashes)')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

const count = z.number().int().nonnegative();

export const shardInfoSchema = z.object({
  file: shardFileName,
  tokens: count,
  bytes: count,
  sha256: sha256Hex,
});
export type ShardInfo = z.infer<typeof shardInfoSchema>;

/** Where the text came from; also the shape of a corpus's `*.source.json`. */
export const sourceInfoSchema = z.object({
  description: z.string().min(1),
  license: z.string().min(1),
  url: z.string().min(1).optional(),
});
export type SourceInfo = z.infer<typeof sourceInfoSchema>;

/** One input document; bytes and sha256 are of its UTF-8 text (after gunzip for .gz inputs). */
export const inputInfoSchema = z.object({
  path: z.string().min(1),
  bytes: count,
  sha256: sha256Hex,
});
export type InputInfo = z.infer<typeof inputInfoSchema>;

export const manifestSchema = z
  .object({
    version: z.literal(MANIFEST_VERSION),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, "_" or "-"'),
    tokenizer: z.enum(TOKENIZER_NAMES),
    vocabSize: z.number().int().positive(),
    dtype: z.enum(DTYPES),
    endianness: z.literal('little'),
    eotToken: z.number().int().nonnegative().nullable(),
    /** The seq_len whose sequences never straddle a train/val cut; any seq_len can read the shards. */
    splitSeqLen: z.number().int().positive(),
    splitBlockSequences: z.number().int().positive(),
    valFraction: z.number().min(0).lt(1),
    totalTokens: count,
    splits: z.object({ train: shardInfoSchema, val: shardInfoSchema }),
    source: sourceInfoSchema,
    inputs: z.array(inputInfoSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const expected = dtypeForVocab(m.vocabSize);
    if (m.dtype !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['dtype'],
        message: `vocab size ${m.vocabSize} must be stored as ${expected}, not ${m.dtype}`,
      });
    }
    if (m.eotToken !== null && m.eotToken >= m.vocabSize) {
      ctx.addIssue({ code: 'custom', path: ['eotToken'], message: `must be below vocabSize ${m.vocabSize}` });
    }
    const width = bytesPerToken(m.dtype);
    for (const split of SPLITS) {
      const s = m.splits[split];
      if (s.bytes !== s.tokens * width) {
        ctx.addIssue({
          code: 'custom',
          path: ['splits', split, 'bytes'],
          message: `${s.tokens} ${m.dtype} tokens take ${s.tokens * width} bytes, not ${s.bytes}`,
        });
      }
    }
    if (m.splits.train.file === m.splits.val.file) {
      ctx.addIssue({ code: 'custom', path: ['splits', 'val', 'file'], message: 'train and val must be different files' });
    }
    if (m.splits.train.tokens + m.splits.val.tokens !== m.totalTokens) {
      ctx.addIssue({ code: 'custom', path: ['totalTokens'], message: 'must equal train.tokens + val.tokens' });
    }
  });
export type DataManifest = z.infer<typeof manifestSchema>;

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** Validates untrusted JSON; the error lists every bad field by path. */
export function parseManifest(json: unknown, where = 'manifest'): DataManifest {
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    throw new ManifestError(`invalid ${where}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export function parseSourceInfo(json: unknown, where = 'source info'): SourceInfo {
  const result = sourceInfoSchema.safeParse(json);
  if (!result.success) {
    throw new ManifestError(`invalid ${where}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}
