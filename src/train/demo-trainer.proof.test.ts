/**
 * The update's sequence proofs on a WebGPU adapter (Dawn through the
 * `webgpu` package; SwiftShader without a GPU): what computeUpdate claims for
 * each sequence is what a verifier recomputes for it on the same parameters,
 * and nothing else is. Skipped when Dawn finds no adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/gpu';
import { mulberry32 } from '../kernels/testing/random';
import { getPreset } from '../model/config';
import { GpuModel, type TokenBatch } from '../model/gpu-model';
import { decodeUpdate } from '../protocol/update-codec';
import { claimedSketch, proofErrorPermille, unitRange } from '../verify/sequence-proof';
import { DemoReplica, randomRunId, sequenceOf } from './demo-trainer';
import { tryNodeGpu } from '../gpu/test-node-gpu';

const gpu = await tryNodeGpu();

/** Text-like sequences that differ from each other. */
function batchOf(seed: number, batch: number, seqLen: number): TokenBatch {
  const r = mulberry32(seed);
  const stream = Int32Array.from({ length: batch * seqLen + 1 }, (_, i) => (r() < 0.7 ? 97 + ((i * 3 + Math.floor(i / seqLen)) % 11) : Math.floor(r() * 256)));
  return { inputIds: stream.slice(0, batch * seqLen), targets: stream.slice(1), batch, seqLen };
}

describe.skipIf(gpu === null)('sequence proofs on the GPU', () => {
  afterAll(() => gpu?.device.destroy());

  it('each sequence’s claimed sketch is its recomputed one; other sequences, steps and parameters are far off', { timeout: 240_000 }, async () => {
    const g = gpu as Gpu;
    const config = getPreset('tinyDemo');
    const author = new DemoReplica(GpuModel.create(g, config, 7));
    const verifier = new DemoReplica(GpuModel.create(g, config, 7));
    const batch = batchOf(1, 4, 32);
    const step = 5;
    const u = await author.computeUpdate(batch, 1e-2, { runId: randomRunId(), step, batchStart: 100, batchCount: 4 });
    // The micro-batched loss is the batch's mean loss.
    expect(u.loss).toBeCloseTo(await verifier.model.loss(batch), 4);
    const decoded = decodeUpdate(u.bytes, author.expectedUpdate);
    expect(decoded.proof).toHaveLength(16);
    const recomputed = await Promise.all([0, 1, 2, 3].map((j) => verifier.unitSketch(sequenceOf(batch, j), step)));
    for (let j = 0; j < 4; j++) {
      expect(proofErrorPermille(claimedSketch(decoded, j), recomputed[j]), `sequence ${j}`).toBeLessThanOrEqual(1);
      // Another sequence's gradient, the same sequence under another step's rows: far off.
      expect(proofErrorPermille(claimedSketch(decoded, j), recomputed[(j + 1) % 4])).toBeGreaterThan(300);
    }
    expect(proofErrorPermille(claimedSketch(decoded, 0), await verifier.unitSketch(sequenceOf(batch, 0), step + 1))).toBeGreaterThan(300);
    // A verifier whose parameters moved on (the author trained from stale ones, or vice versa): off as well.
    await verifier.applyAgreed([u.bytes], 1e-2, 0);
    expect(proofErrorPermille(claimedSketch(decoded, 0), await verifier.unitSketch(sequenceOf(batch, 0), step))).toBeGreaterThan(10);
    // Ten sequences: eight proofs of one or two sequences each, every one the sum its sequences' gradients recompute to.
    const big = batchOf(2, 10, 32);
    const fresh = new DemoReplica(GpuModel.create(g, config, 7));
    const many = decodeUpdate((await fresh.computeUpdate(big, 1e-2, { runId: randomRunId(), step, batchStart: 0, batchCount: 10 })).bytes, author.expectedUpdate);
    expect(many.proof).toHaveLength(32);
    const other = new DemoReplica(GpuModel.create(g, config, 7));
    for (let u = 0; u < 8; u++) {
      const { start, count } = unitRange(10, u);
      const unit = { inputIds: big.inputIds.subarray(start * 32, (start + count) * 32), targets: big.targets!.subarray(start * 32, (start + count) * 32), batch: count, seqLen: 32 };
      expect(proofErrorPermille(claimedSketch(many, u), await other.unitSketch(unit, step)), `unit ${u}`).toBeLessThanOrEqual(1);
      // Half of a two-sequence unit is not the unit.
      if (count === 2) expect(proofErrorPermille(claimedSketch(many, u), await other.unitSketch(sequenceOf(unit, 0), step))).toBeGreaterThan(100);
    }
    for (const r of [author, verifier, fresh, other]) {
      r.dispose();
      r.model.dispose();
    }
  });
});
