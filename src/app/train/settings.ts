/**
 * The Train form's draft: inputs hold strings so a half-typed number is not
 * fought by the form; validation goes through the worker protocol's own
 * schema so the page can never send settings the worker would reject.
 */
import { getPreset, parameterCount } from '../../model/config';
import type { z } from 'zod';
import { TrainSettingsSchema, type TrainSettings } from '../../train/protocol';

/** Presets a tab can train: byte-level ones for any GPU, a GPT-2 BPE one for real runs. */
export const TRAIN_PRESETS = ['tiny', 'small', 'bpe-small'] as const;
export const DATASETS = ['austen-byte', 'austen-gpt2'] as const;

/** Vocabulary of each shipped dataset's tokenizer (public/data/<name>/manifest.json). */
const DATASET_VOCAB: Record<(typeof DATASETS)[number], number> = { 'austen-byte': 256, 'austen-gpt2': 50257 };

export interface Draft {
  preset: string;
  dataset: string;
  batchSize: string;
  seqLen: string;
  lr: string;
  steps: string;
  /** 0.05–1, applied live while training. */
  duty: number;
}

export type DraftErrors = Partial<Record<keyof Draft, string>>;

export const DEFAULT_DRAFT: Draft = {
  preset: 'tiny',
  dataset: 'austen-byte',
  batchSize: '8',
  seqLen: '64',
  lr: '0.001',
  steps: '500',
  duty: 1,
};

const STORAGE_KEY = 'tessera.train.settings';

/** Settings survive a reload; anything unreadable falls back to the defaults. */
export function loadDraft(): Draft {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (!saved || typeof saved !== 'object') return DEFAULT_DRAFT;
    const draft = { ...DEFAULT_DRAFT };
    for (const key of Object.keys(DEFAULT_DRAFT) as (keyof Draft)[]) {
      const value = (saved as Record<string, unknown>)[key];
      if (typeof value === typeof DEFAULT_DRAFT[key]) (draft as Record<string, unknown>)[key] = value;
    }
    if (!(TRAIN_PRESETS as readonly string[]).includes(draft.preset)) draft.preset = DEFAULT_DRAFT.preset;
    if (!(DATASETS as readonly string[]).includes(draft.dataset)) draft.dataset = DEFAULT_DRAFT.dataset;
    return draft;
  } catch {
    return DEFAULT_DRAFT;
  }
}

export function saveDraft(draft: Draft): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(draft));
  } catch {
    // Private mode or a full quota: settings just won't persist.
  }
}

export function maxSeqLen(preset: string): number {
  return getPreset(preset).max_position_embeddings;
}

export function presetParameters(preset: string): number {
  return parameterCount(getPreset(preset));
}

function friendlyMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return issue.expected === 'int' ? 'Enter a whole number' : 'Enter a number';
  if (issue.code === 'too_small') return issue.inclusive === false ? `Must be more than ${issue.minimum}` : `At least ${issue.minimum}`;
  if (issue.code === 'too_big') return `At most ${issue.maximum}`;
  return issue.message;
}

const toNumber = (s: string) => (s.trim() === '' ? NaN : Number(s));

export function validateDraft(d: Draft): { settings: TrainSettings | null; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const parsed = TrainSettingsSchema.safeParse({
    preset: d.preset,
    dataset: d.dataset,
    batchSize: toNumber(d.batchSize),
    seqLen: toNumber(d.seqLen),
    lr: toNumber(d.lr),
    steps: toNumber(d.steps),
    duty: d.duty,
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path[0] as keyof Draft;
      errors[key] ??= friendlyMessage(issue);
    }
  }
  const limit = maxSeqLen(d.preset);
  if (!errors.seqLen && toNumber(d.seqLen) > limit) errors.seqLen = `At most ${limit} for ${d.preset}`;
  const vocab = DATASET_VOCAB[d.dataset as (typeof DATASETS)[number]];
  const wanted = getPreset(d.preset).vocab_size;
  if (!errors.dataset && vocab !== undefined && vocab !== wanted) {
    errors.dataset = `${d.preset} needs a ${wanted === 256 ? 'byte-level' : `${wanted}-token`} dataset`;
  }
  return { settings: parsed.success && Object.keys(errors).length === 0 ? parsed.data : null, errors };
}
