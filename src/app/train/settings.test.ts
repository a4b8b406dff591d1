import { describe, expect, it } from 'vitest';
import { DEFAULT_DRAFT, validateDraft } from './settings';

describe('validateDraft', () => {
  it('accepts the defaults as worker settings', () => {
    const { settings, errors } = validateDraft(DEFAULT_DRAFT);
    expect(errors).toEqual({});
    expect(settings).toMatchObject({ preset: 'tiny', dataset: 'austen-byte', batchSize: 8, seqLen: 64 });
  });

  it('rejects a dataset whose tokenizer does not match the preset', () => {
    const { settings, errors } = validateDraft({ ...DEFAULT_DRAFT, preset: 'bpe-small', dataset: 'austen-byte' });
    expect(settings).toBeNull();
    expect(errors.dataset).toMatch(/bpe-small needs a 50257-token dataset/);
    expect(validateDraft({ ...DEFAULT_DRAFT, preset: 'bpe-small', dataset: 'austen-gpt2' }).errors).toEqual({});
  });

  it('names the field of a bad number and a too-long sequence', () => {
    expect(validateDraft({ ...DEFAULT_DRAFT, batchSize: '2.5' }).errors.batchSize).toBe('Enter a whole number');
    expect(validateDraft({ ...DEFAULT_DRAFT, seqLen: '65' }).errors.seqLen).toBe('At most 64 for tiny');
  });
});
