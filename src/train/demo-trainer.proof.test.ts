/**
 * The update's sequence proofs on a WebGPU adapter (Dawn through the
 * `webgpu` package; SwiftShader without a GPU): what computeUpdate claims for
 * each sequence is what a verifier recomputes for it on the same parameters,
 * and nothing else is; a time-boxed update (docs/design.md §11) claims the
 * units of what it trained, laid out from its cap. Skipped when Dawn finds no
 * adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../gpu/gpu';
import { mulberry32 } from '../kernels/testing/random';
import { getPreset } from '../model/config';
import { GpuModel, type TokenBatch } from '../model/gpu-model';
import { decodeUpdate, proofUnits, unitSizeFor, type DecodedUpdate } from '../protocol/update-codec';
import { claimedSketch, proofErrorPermille, unitRange, updateUnit } from '../verify/sequence-proof';
import { keptCoefficients, tensorOffsets } from '../verify/update-score';
import { DemoReplica, randomRunId, sequenceOf, sequencesOf, type DemoSettings } from './demo-trainer';
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
  const config = getPreset('tinyDemo');
  const step = 5;
  const replicas: DemoReplica[] = [];
  /** A fresh replica on the parameters of seed 7 (every replica here starts from them). */
  const replica = (settings: Partial<DemoSettings> = {}, microBatch = 1): DemoReplica => {
    const r = new DemoReplica(GpuModel.create(gpu as Gpu, config, 7), settings);
    r.microBatch = microBatch;
    replicas.push(r);
    return r;
  };
  afterAll(() => {
    for (const r of replicas) {
      r.dispose();
      r.model.dispose();
    }
  });

  /** Every unit the update claims is the one `verifier` recomputes from `batch` (which starts at the update's batchStart). */
  async function expectProofsHold(update: DecodedUpdate, batch: TokenBatch, verifier: DemoReplica): Promise<void> {
    for (let u = 0; u < proofUnits(update.batchCount, update.unitSize); u++) {
      const { start, count } = updateUnit(update, u);
      expect(proofErrorPermille(claimedSketch(update, u), await verifier.unitSketch(sequencesOf(batch, start, count), step)), `unit ${u}`).toBeLessThanOrEqual(1);
    }
  }

  it('each sequence’s claimed sketch is its recomputed one; other sequences, steps and parameters are far off', { timeout: 240_000 }, async () => {
    const author = replica();
    const verifier = replica();
    const batch = batchOf(1, 4, 32);
    const u = await author.computeUpdate(batch, 1e-2, { runId: randomRunId(), step, batchStart: 100, batchCount: 4 });
    expect(u.count).toBe(4);
    // The micro-batched loss is the batch's mean loss.
    expect(u.loss).toBeCloseTo(await verifier.model.loss(batch), 4);
    const decoded = decodeUpdate(u.bytes, author.expectedUpdate);
    expect([decoded.batchStart, decoded.batchCount, decoded.unitSize]).toEqual([100, 4, 1]);
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
    // Ten sequences: five proofs of two sequences each (units of ⌈10 / 8⌉), every one the sum its sequences' gradients recompute to.
    const big = batchOf(2, 10, 32);
    const many = decodeUpdate((await replica().computeUpdate(big, 1e-2, { runId: randomRunId(), step, batchStart: 0, batchCount: 10 })).bytes, author.expectedUpdate);
    expect([many.batchCount, many.unitSize]).toEqual([10, 2]);
    expect(many.proof).toHaveLength(20);
    const other = replica();
    for (let u = 0; u < 5; u++) {
      const { start, count } = unitRange(10, u);
      expect([start, count]).toEqual([2 * u, 2]);
      const unit = sequencesOf(big, start, count);
      expect(proofErrorPermille(claimedSketch(many, u), await other.unitSketch(unit, step)), `unit ${u}`).toBeLessThanOrEqual(1);
      // Half of a two-sequence unit is not the unit.
      expect(proofErrorPermille(claimedSketch(many, u), await other.unitSketch(sequenceOf(unit, 0), step))).toBeGreaterThan(100);
    }
  });

  it('summing over micro-batches leaves the update what it was: lr times the clipped mean gradient, whatever the micro-batch', { timeout: 240_000 }, async () => {
    const batch = batchOf(3, 4, 32);
    const lr = 1e-2;
    const header = { runId: randomRunId(), step, batchStart: 0, batchCount: 4 };
    // A clip at half the mean gradient's norm, so that clipping the sum at b·gradClip is what is tested.
    const { gradNorm: norm } = await replica({ gradClip: 0 }).clippedGradient(batch);
    const settings = { quantize1bit: false, gradClip: norm / 2 };
    const reference = replica(settings);
    const want = await reference.clippedGradient(batch);
    expect(want.gradNorm).toBeCloseTo(norm, 4);
    const updates: DecodedUpdate[] = [];
    for (const micro of [1, 4]) {
      const name = `micro-batches of ${micro}`;
      const r = replica(settings, micro);
      const u = await r.computeUpdate(batch, lr, header);
      expect(u.count, name).toBe(4);
      expect(u.loss, name).toBeCloseTo(want.loss, 4);
      // The reported norm is the mean gradient's, as before the sum.
      expect(Math.abs(u.gradNorm - norm), name).toBeLessThanOrEqual(1e-4 * norm);
      // Round 0, so momentum = η·clipped gradient before compression, and unquantized values are its kept DCT coefficients.
      const decoded = decodeUpdate(u.bytes, r.expectedUpdate);
      const values = decoded.tensors.flatMap((t) => Array.from(t.values));
      const kept = keptCoefficients(tensorOffsets(r), want.grads, decoded);
      let diff = 0;
      let size = 0;
      values.forEach((v, i) => {
        diff += (v - lr * kept[i]) ** 2;
        size += (lr * kept[i]) ** 2;
      });
      expect(Math.sqrt(diff / size), name).toBeLessThan(1e-3);
      updates.push(decoded);
    }
    // The same coefficients kept (up to rounding near ties) whatever the micro-batch.
    const [a, b] = updates;
    let same = 0;
    let total = 0;
    a.tensors.forEach((t, i) => {
      const other = new Set(b.tensors[i].indices);
      for (const idx of t.indices) same += other.has(idx) ? 1 : 0;
      total += t.indices.length;
    });
    expect(same / total).toBeGreaterThan(0.99);
  });

  it('a time box already over trains one micro-batch; its units are the cap’s, the last cut where it stopped', { timeout: 240_000 }, async () => {
    const verifier = replica();
    // Cap 10: units of 2; micro-batches of 2 stop at the end of unit 0.
    const ten = batchOf(4, 10, 32);
    const author = replica({}, 2);
    const u = await author.computeUpdate(ten, 1e-2, { runId: randomRunId(), step, batchStart: 40, batchCount: 10 }, Date.now() - 1);
    expect(u.count).toBe(2);
    expect(u.loss).toBeCloseTo(await verifier.model.loss(sequencesOf(ten, 0, 2)), 4);
    const decoded = decodeUpdate(u.bytes, author.expectedUpdate);
    expect([decoded.batchStart, decoded.batchCount, decoded.unitSize]).toEqual([40, 2, unitSizeFor(10)]);
    expect(decoded.proof).toHaveLength(4);
    await expectProofsHold(decoded, ten, verifier);
    // Cap 24: units of 3; micro-batches of 2 stop inside unit 0, which is sketched where they stopped.
    const many = batchOf(5, 24, 32);
    const cut = replica({}, 2);
    const c = await cut.computeUpdate(many, 1e-2, { runId: randomRunId(), step, batchStart: 0, batchCount: 24 }, Date.now() - 1);
    expect(c.count).toBe(2);
    const d = decodeUpdate(c.bytes, cut.expectedUpdate);
    expect([d.batchCount, d.unitSize, d.proof.length]).toEqual([2, 3, 4]);
    await expectProofsHold(d, many, verifier);
    // The whole unit of three is not what it claims.
    expect(proofErrorPermille(claimedSketch(d, 0), await verifier.unitSketch(sequencesOf(many, 0, 3), step))).toBeGreaterThan(100);
  });

  it('a time box that ends mid-way: the update covers what was trained, with valid proofs; one that never ends changes nothing', { timeout: 240_000 }, async () => {
    const verifier = replica();
    const cap = 16;
    const batch = batchOf(6, cap, 32);
    const header = { runId: randomRunId(), step, batchStart: 0, batchCount: cap };
    const full = await replica().computeUpdate(batch, 1e-2, header);
    expect(full.count).toBe(cap);
    // A deadline that does not pass trains everything, and the waits change no bit.
    const late = await replica().computeUpdate(batch, 1e-2, header, Date.now() + 3_600_000);
    expect(late.count).toBe(cap);
    expect(Array.from(late.bytes)).toEqual(Array.from(full.bytes));
    // About a third of the full time: somewhere inside the range (the test does not depend on where).
    const r = replica();
    const u = await r.computeUpdate(batch, 1e-2, header, Date.now() + full.forwardBackwardMs / 3);
    expect(u.count).toBeGreaterThanOrEqual(1);
    expect(u.count).toBeLessThanOrEqual(cap);
    const decoded = decodeUpdate(u.bytes, r.expectedUpdate);
    expect([decoded.batchStart, decoded.batchCount, decoded.unitSize]).toEqual([0, u.count, unitSizeFor(cap)]);
    expect(decoded.proof).toHaveLength(4 * Math.ceil(u.count / unitSizeFor(cap)));
    expect(u.loss).toBeCloseTo(await verifier.model.loss(sequencesOf(batch, 0, u.count)), 4);
    await expectProofsHold(decoded, batch, verifier);
    console.log(`time box of ${(full.forwardBackwardMs / 3).toFixed(0)} ms: trained ${u.count} of ${cap} sequences`);
  });
});
