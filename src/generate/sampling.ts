/**
 * Choosing the next token from the model's logits: greedy (temperature 0),
 * or sampling after a repetition penalty, temperature, top-k and top-p
 * (nucleus), as Hugging Face's generate applies them, in that order. The
 * random source is passed in, so a seeded generation repeats exactly.
 */
import { z } from 'zod';
import { mulberry32 } from '../kernels/testing/random';

export const samplingSchema = z
  .object({
    /** 0 is greedy. */
    temperature: z.number().min(0).max(10),
    /** Keep the k likeliest tokens; 0 keeps all. */
    topK: z.number().int().min(0),
    /** Keep the smallest set of likeliest tokens whose probability reaches p; 1 keeps all. */
    topP: z.number().gt(0).max(1),
    /** > 1 makes tokens already in the text less likely (CTRL's penalty); 1 is none. */
    repetitionPenalty: z.number().min(1).max(10),
  })
  .strict();
export type Sampling = z.infer<typeof samplingSchema>;

export const GREEDY: Sampling = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };

/** The index of the largest logit; the lowest index on a tie, so every engine picks the same. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** The next token after `logits`, given the tokens so far (`seen`, for the penalty) and a uniform [0, 1) source. */
export function sampleToken(logits: Float32Array, seen: readonly number[], s: Sampling, random: () => number): number {
  const x = Float64Array.from(logits);
  if (s.repetitionPenalty !== 1) {
    for (const t of new Set(seen)) x[t] = x[t] > 0 ? x[t] / s.repetitionPenalty : x[t] * s.repetitionPenalty;
  }
  if (s.temperature === 0) return argmax(x);
  // Likeliest first; ties by index, so the kept set does not depend on the sort's stability.
  const order = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b);
  const kept = s.topK > 0 ? order.slice(0, s.topK) : order;
  const max = x[kept[0]];
  const weights = kept.map((i) => Math.exp((x[i] - max) / s.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let n = kept.length;
  if (s.topP < 1) {
    let mass = 0;
    for (n = 0; n < kept.length && mass < s.topP * total; n++) mass += weights[n];
  }
  const sum = weights.slice(0, n).reduce((a, b) => a + b, 0);
  let r = random() * sum;
  for (let i = 0; i < n; i++) {
    r -= weights[i];
    if (r < 0) return kept[i];
  }
  return kept[n - 1];
}

/** A seeded source of uniform [0, 1) numbers: the same seed samples the same text. */
export const seededRandom = mulberry32;
