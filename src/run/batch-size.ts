/**
 * The global batch ramp (docs/run.md "Config"): sequences per round go
 * linearly from `start` to `end` over the first `warmupTokens` tokens, then
 * stay at `end`. Rounded to the nearest integer, as Psyche does.
 */
import type { RunConfig } from './run-config';

export function globalBatchSize(batch: RunConfig['globalBatch'], tokensSeen: number): number {
  const { start, end, warmupTokens } = batch;
  if (tokensSeen >= warmupTokens) return end;
  return Math.round(start + ((end - start) * tokensSeen) / warmupTokens);
}
