/**
 * The generation loop: prefill the prompt, then one token at a time, each
 * chosen by sampling.ts, until max tokens, an end-of-text token or a stop.
 * Tokens are yielded as they come, with the prefill time and the decode
 * rate, so the page can stream them and show tokens/s.
 */
import type { MlaSession } from './mla-session';
import { sampleToken, seededRandom, type Sampling } from './sampling';

export interface GenerateOptions {
  sampling: Sampling;
  maxTokens: number;
  /** Stops after this token (not yielded); null when the vocabulary has none. */
  eotToken: number | null;
  seed: number;
  /** Checked before each step: true stops the generation. */
  stopped?: () => boolean;
}

export interface GeneratedToken {
  token: number;
  /** Tokens generated so far, this one included. */
  count: number;
  /** Prompt length over the prefill's time. */
  prefillTokensPerSec: number;
  /** Generated tokens after the first over the time they took (0 until there are two). */
  decodeTokensPerSec: number;
}

export async function* generate(session: MlaSession, prompt: readonly number[], o: GenerateOptions): AsyncGenerator<GeneratedToken> {
  if (prompt.length === 0) throw new RangeError('generate: the prompt is empty');
  const room = session.config.max_position_embeddings - prompt.length;
  const maxTokens = Math.min(o.maxTokens, room);
  if (maxTokens <= 0) throw new RangeError(`generate: the prompt's ${prompt.length} tokens leave no room in the model's ${session.config.max_position_embeddings} positions`);
  const random = seededRandom(o.seed);
  const seen = [...prompt];
  const t0 = performance.now();
  let logits = await session.prefill(prompt);
  const V = session.config.vocab_size;
  logits = logits.subarray(logits.length - V);
  const prefillTokensPerSec = prompt.length / Math.max(1e-3, (performance.now() - t0) / 1000);
  let decodeStart = 0;
  for (let count = 1; count <= maxTokens; count++) {
    if (o.stopped?.()) return;
    const token = sampleToken(logits, seen, o.sampling, random);
    if (token === o.eotToken) return;
    seen.push(token);
    const now = performance.now();
    if (count === 1) decodeStart = now;
    const decodeTokensPerSec = count > 1 ? (count - 1) / Math.max(1e-3, (now - decodeStart) / 1000) : 0;
    yield { token, count, prefillTokensPerSec, decodeTokensPerSec };
    if (count < maxTokens) logits = await session.decode(token);
  }
}
