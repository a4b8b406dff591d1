import { mulberry32 } from '../kernels/testing/random';
import { afterAll, describe, expect, it } from 'vitest';
import { blockCount, blockGrid, blockOrigin, blockShape, elementCount, keptPerBlock } from '../demo/blocks';
import { dctBlocks } from '../demo/dct';
import type { Gpu } from '../gpu/gpu';
import { getPreset } from '../model/config';
import { GpuModel, type TokenBatch } from '../model/gpu-model';
import { decodeUpdate, type UpdateTensor } from '../protocol/update-codec';
import { DemoReplica, randomRunId } from '../train/demo-trainer';
import { keptCoefficients, lossChangeScore, scoreUpdate, signAgreement, signAgreementScore, tensorOffsets, toPermille, verifierGradient } from './update-score';
import { tryNodeGpu } from '../gpu/test-node-gpu';

const rng = mulberry32;

describe('keptCoefficients and signAgreement (CPU)', () => {
  const shapes = [[128, 64], [48], [64, 96]];
  // Tensors laid out with gaps, as the model's aligned layout has them.
  const offsets = [0, 128 * 64 + 16, 128 * 64 + 16 + 48 + 32];
  const r = rng(3);
  const grads = Float32Array.from({ length: offsets[2] + 64 * 96 }, () => r() * 2 - 1);
  const tensors: UpdateTensor[] = shapes.map((shape) => {
    const block = blockShape(shape, 64);
    const k = keptPerBlock(elementCount(block), 8);
    const blocks = blockCount(shape, block);
    const indices = new Uint32Array(blocks * k);
    for (let b = 0; b < blocks; b++) {
      const chosen = new Set<number>();
      while (chosen.size < k) chosen.add(Math.floor(r() * elementCount(block)));
      indices.set([...chosen].sort((x, y) => x - y), b * k);
    }
    return { shape, block, k, indices, values: new Float32Array(indices.length).fill(1) };
  });

  it('are the blockwise DCT-II of the gradient at the kept entries', () => {
    const got = keptCoefficients(offsets, grads, { tensors });
    let n = 0;
    tensors.forEach((t, ti) => {
      const size = elementCount(t.shape);
      const full = dctBlocks(grads.subarray(offsets[ti], offsets[ti] + size), t.shape, t.block);
      const grid = blockGrid(t.shape, t.block);
      for (let e = 0; e < t.indices.length; e++) {
        const o = blockOrigin(grid, Math.floor(e / t.k));
        const u = Math.floor(t.indices[e] / grid.cc);
        const v = t.indices[e] % grid.cc;
        expect(got[n++]).toBeCloseTo(full[o + u * grid.C + v], 10);
      }
    });
    expect(n).toBe(got.length);
  });

  it('agreement is 1 for the gradient coefficients own signs, 0 for the opposite, ≈ ½ for random ones', () => {
    const c = keptCoefficients(offsets, grads, { tensors });
    let n = 0;
    const own = tensors.map((t) => ({ ...t, values: Float32Array.from(t.values, () => (c[n++] < 0 ? -1 : 1)) }));
    expect(signAgreement(c, { tensors: own })).toEqual({ agree: 1, weighted: 1 });
    const opposite = own.map((t) => ({ ...t, values: t.values.map((v) => -v) }));
    expect(signAgreement(c, { tensors: opposite })).toEqual({ agree: 0, weighted: -1 });
    const random = own.map((t) => ({ ...t, values: t.values.map(() => (r() < 0.5 ? -1 : 1)) }));
    const a = signAgreement(c, { tensors: random });
    expect(Math.abs(a.agree - 0.5)).toBeLessThan(0.15);
  });

  it('toPermille gives integers in [−1000, 1000]', () => {
    expect(toPermille(0.0234)).toBe(23);
    expect(toPermille(-0.0236)).toBe(-24);
    expect(toPermille(3)).toBe(1000);
    expect(toPermille(-3)).toBe(-1000);
    expect(toPermille(NaN)).toBe(-1000);
  });
});

// ----------------------------------------------------------------------------
// On a WebGPU adapter (Dawn through the `webgpu` package; SwiftShader without
// a GPU). Skipped when Dawn finds no adapter.

const gpu = await tryNodeGpu();

function batchOf(seed: number, batch: number, seqLen: number): TokenBatch {
  const r = rng(seed);
  // A repetitive text-like stream, so the gradient has structure.
  const stream = Int32Array.from({ length: batch * seqLen + 1 }, (_, i) => (r() < 0.7 ? 97 + (i % 7) : Math.floor(r() * 256)));
  return { inputIds: stream.slice(0, batch * seqLen), targets: stream.slice(1), batch, seqLen };
}

describe.skipIf(gpu === null)('scoring on the GPU', () => {
  afterAll(() => gpu?.device.destroy());

  it('leaves parameters and momentum bit-identical, and computeUpdate unchanged', { timeout: 240_000 }, async () => {
    const g = gpu!;
    const a = new DemoReplica(GpuModel.create(g, getPreset('tiny'), 1));
    const b = new DemoReplica(GpuModel.create(g, getPreset('tiny'), 1));
    const runId = randomRunId();
    const lr = 1e-2;
    const train = batchOf(1, 2, 16);
    // One round on both replicas, so the momentum is not zero.
    const u0 = await a.computeUpdate(train, lr, { runId, step: 0, batchStart: 0, batchCount: 2 });
    await b.computeUpdate(train, lr, { runId, step: 0, batchStart: 0, batchCount: 2 });
    await a.applyAgreed([u0.bytes], lr, 0.1);
    await b.applyAgreed([u0.bytes], lr, 0.1);

    const next = batchOf(2, 2, 16);
    const header = { runId, step: 1, batchStart: 2, batchCount: 2 };
    // b trains its update first; a scores it (and a random control) before training its own.
    const ub = await b.computeUpdate(next, lr, header);
    const before = await a.stateChecksums();
    const sample: TokenBatch = { ...next, batch: 1, inputIds: next.inputIds.slice(0, 16), targets: next.targets!.slice(0, 16) };
    const control = batchOf(3, 1, 16);
    const s = await scoreUpdate(a, ub.bytes, sample, control, lr);
    const l = await lossChangeScore(a, ub.bytes, sample, control, lr);
    const after = await a.stateChecksums();
    expect(after).toEqual(before);
    expect(Number.isInteger(s.score) && s.score >= -1000 && s.score <= 1000).toBe(true);
    expect(Number.isInteger(l.score) && l.score >= -1000 && l.score <= 1000).toBe(true);
    // The trial apply did change the parameters while it lasted, and helped the sample.
    expect(l.sampleAfter).not.toBe(l.sampleBefore);
    expect(l.sampleAfter).toBeLessThan(l.sampleBefore);
    // The verifier's own update is the one it would have made without scoring.
    const ua = await a.computeUpdate(next, lr, header);
    expect(Array.from(ua.bytes)).toEqual(Array.from(ub.bytes));
    expect((await a.applyAgreed([ua.bytes], lr, 0.1)).checksum).toBe((await b.applyAgreed([ub.bytes], lr, 0.1)).checksum);
    for (const x of [a, b]) {
      x.dispose();
      x.model.dispose();
    }
  });

  it('an honest update agrees with its own batch far more than random signs do', { timeout: 240_000 }, async () => {
    const g = gpu!;
    const a = new DemoReplica(GpuModel.create(g, getPreset('tiny'), 2));
    const train = batchOf(4, 2, 16);
    const u = await a.computeUpdate(train, 1e-2, { runId: randomRunId(), step: 0, batchStart: 0, batchCount: 2 });
    const gs = await verifierGradient(a, train);
    const decoded = decodeUpdate(u.bytes, a.expectedUpdate);
    // Round 0: momentum = lr·clipped gradient, so the kept signs are exactly the gradient's.
    const own = signAgreement(keptCoefficients(tensorOffsets(a), gs.grads, decoded), decoded);
    expect(own.agree).toBeGreaterThan(0.95);
    const r = rng(9);
    const random = { ...decoded, tensors: decoded.tensors.map((t) => ({ ...t, values: t.values.map(() => (r() < 0.5 ? -1 : 1)) })) };
    const rs = signAgreement(keptCoefficients(tensorOffsets(a), gs.grads, random), random);
    expect(rs.agree).toBeLessThan(0.7);
    const full = await signAgreementScore(a, u.bytes, train, batchOf(5, 2, 16));
    expect(full.agreeSample).toBeCloseTo(own.agree, 12);
    a.dispose();
    a.model.dispose();
  });
});
