/** Builders shared by the server tests: a small run config and real encoded updates for it. */
import { mulberry32 } from '../src/kernels/testing/random';
import { randomTensor } from '../src/protocol/test-helpers';
import { encodeUpdate, PROOF_ROWS, proofUnits, UPDATE_FORMAT_VERSION } from '../src/protocol/update-codec';
import { parseRunConfig, type RunConfig, type RunConfigInput } from '../src/run/run-config';
import { runModel } from './run-model';

export function serverTestConfig(overrides: RunConfigInput = {}): RunConfig {
  return parseRunConfig({
    model: 'tiny',
    warmupTime: 1000,
    cooldownTime: 500,
    maxRoundTrainTime: 10_000,
    roundWitnessTime: 5000,
    epochTime: 1_000_000,
    initMinClients: 2,
    minClients: 1,
    globalBatch: { start: 4, end: 4, warmupTokens: 0 },
    optimizer: { weightDecay: 0.1 },
    lr: { schedule: 'constant', peak: 0.01, warmupSteps: 0 },
    // The rules before verification, unless a test sets them (server/verification.test.ts does).
    verification: { probationRounds: 0, vestingRounds: 0, sampleRate: 0 },
    ...overrides,
  });
}

/** A valid random sparse 1-bit update of this run for `step`, encoded as a client would send it (`unitSize`: a time-boxed one's, of its assignment). */
export function encodedTestUpdate(config: RunConfig, step: number, seed: number, batch: { start: number; count: number; unitSize?: number } = { start: 0, count: 1 }): Uint8Array {
  const rm = runModel(config);
  const rand = mulberry32(seed);
  const { chunk, topk, quantize1bit } = rm.expected;
  const tensors = rm.expected.shapes.map((shape) => randomTensor(shape, chunk, topk, quantize1bit, rand));
  return encodeUpdate(
    {
      version: UPDATE_FORMAT_VERSION,
      runId: rm.runId,
      step,
      batchStart: batch.start,
      batchCount: batch.count,
      unitSize: batch.unitSize,
      tensors,
      proof: new Float32Array(proofUnits(batch.count, batch.unitSize) * PROOF_ROWS),
    },
    { chunk, topk, quantize1bit },
  );
}
